//! The wording of every finding, exactly as operators read it.

use super::*;

const ZONE: &str = "acme.opendev.org";
const ACCT: &str = "https://acme-v02.api.letsencrypt.org/acme/acct/1234";
const LE: &str = "https://acme-v02.api.letsencrypt.org/directory";

fn ca(account: Option<&'static str>) -> Ca<'static> {
    Ca {
        directory: LE,
        identity: Some("letsencrypt.org"),
        account,
    }
}

fn rec(tag: &str, value: &str) -> Caa {
    Caa {
        flags: 0,
        tag: tag.into(),
        value: value.into(),
    }
}

fn judged(node: &str, records: Vec<Caa>, verdict: Verdict) -> CaaSeen {
    CaaSeen::Judged {
        relevant: (!records.is_empty()).then(|| (node.to_owned(), records)),
        verdict,
        top: "opendev.org".into(),
    }
}

#[test]
fn missing_cname_names_the_record_to_add() {
    let e = OwnerError::NoSuchName {
        challenge: "_acme-challenge.gitea01.opendev.org".into(),
        zone: ZONE.into(),
    };
    let f = cname("gitea01.opendev.org", ZONE, &e);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.record, "_acme-challenge.gitea01.opendev.org. CNAME");
    assert_eq!(
        f.message,
        "_acme-challenge.gitea01.opendev.org does not exist; add \
         `_acme-challenge.gitea01.opendev.org. CNAME gitea01.opendev.org.acme.opendev.org.`"
    );
    assert_eq!(
        f.fix.as_deref(),
        Some("_acme-challenge.gitea01.opendev.org. CNAME gitea01.opendev.org.acme.opendev.org.")
    );
    // A wildcard shares its base name's label.
    let f = cname("*.zuul.opendev.org", ZONE, &e);
    assert_eq!(
        f.fix.as_deref(),
        Some("_acme-challenge.zuul.opendev.org. CNAME zuul.opendev.org.acme.opendev.org.")
    );
}

#[test]
fn cname_elsewhere_says_where_it_points_and_what_it_should_be() {
    let e = OwnerError::OutsideZone {
        challenge: "_acme-challenge.docs.opendev.org".into(),
        target: "acme.elsewhere.example".into(),
        zone: ZONE.into(),
        chain: vec![
            "_acme-challenge.docs.opendev.org".into(),
            "docs.old-dns.example".into(),
            "acme.elsewhere.example".into(),
        ],
    };
    let f = cname("docs.opendev.org", ZONE, &e);
    assert_eq!(
        f.message,
        "_acme-challenge.docs.opendev.org is a CNAME to docs.old-dns.example. (the chain ends at \
         acme.elsewhere.example.), outside the signing zone acme.opendev.org; change it to \
         `_acme-challenge.docs.opendev.org. CNAME docs.opendev.org.acme.opendev.org.`"
    );
    let direct = OwnerError::OutsideZone {
        challenge: "_acme-challenge.x.org".into(),
        target: "y.net".into(),
        zone: ZONE.into(),
        chain: vec!["_acme-challenge.x.org".into(), "y.net".into()],
    };
    assert!(
        cname("x.org", ZONE, &direct)
            .message
            .starts_with("_acme-challenge.x.org is a CNAME to y.net., outside")
    );
    let no_cname = OwnerError::NoCname {
        challenge: "_acme-challenge.x.org".into(),
        zone: ZONE.into(),
    };
    assert!(
        cname("x.org", ZONE, &no_cname)
            .message
            .contains("is no CNAME")
    );
}

#[test]
fn servers_must_answer_and_agree() {
    let seen = vec![
        ("ns1 (127.0.0.1:53)".to_owned(), SoaSeen::Serial(7)),
        ("ns2 (127.0.0.2:53)".to_owned(), SoaSeen::Serial(6)),
        (
            "127.0.0.1:9".to_owned(),
            SoaSeen::Problem("does not answer acme.opendev.org SOA within 5s".into()),
        ),
    ];
    let f = servers(ZONE, &seen);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].severity, Severity::Error);
    assert!(
        f[0].message.starts_with(
            "authoritative server 127.0.0.1:9 does not answer acme.opendev.org SOA within 5s;"
        ),
        "{}",
        f[0].message
    );
    assert_eq!(f[1].severity, Severity::Warning);
    assert!(
        f[1].message
            .contains("(6 at ns2 (127.0.0.2:53); 7 at ns1 (127.0.0.1:53))"),
        "{}",
        f[1].message
    );
    let agree = vec![
        ("a".to_owned(), SoaSeen::Serial(7)),
        ("b".to_owned(), SoaSeen::Serial(7)),
    ];
    assert!(servers(ZONE, &agree).is_empty());
}

#[test]
fn crowded_owner_gives_the_count_and_a_label() {
    let mut owners = BTreeMap::new();
    let names: Vec<String> = (0..30).map(|i| format!("h{i}.opendev.org")).collect();
    owners.insert(ZONE.to_owned(), names);
    owners.insert(
        "h0.opendev.org.acme.opendev.org".to_owned(),
        vec!["h0.opendev.org".to_owned()],
    );
    let f = crowding(ZONE, &owners, batch::UDP_PAYLOAD);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].name, ZONE);
    assert_eq!(
        f[0].message,
        "30 names put their DNS-01 value at acme.opendev.org when every certificate is due at \
         once (first pulse, --force): an answer of about 1801 bytes, over the 1232-byte \
         limit (dns.txt_answer_limit), which holds 19; a pulse publishes them in at least 2 \
         zone updates, each with its own propagation wait. Give names their own labels, e.g. \
         `_acme-challenge.h0.opendev.org. CNAME h0.opendev.org.acme.opendev.org.`"
    );
}

#[test]
fn caa_forbidding_the_ca_is_an_error_with_the_record_to_add() {
    let seen = judged(
        "zuul-ci.org",
        vec![rec("issue", "ca.example.net")],
        Verdict::OtherIssuers {
            issuers: vec!["ca.example.net".into()],
        },
    );
    let f = caa("www.zuul-ci.org", &ca(Some(ACCT)), &seen).expect("finding");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.record, "zuul-ci.org. CAA");
    let want = format!(
        "zuul-ci.org. CAA 0 issue \"letsencrypt.org; accounturi={ACCT}; validationmethods=dns-01\""
    );
    assert_eq!(
        f.message,
        format!(
            "CAA at zuul-ci.org allows only ca.example.net (`zuul-ci.org. CAA 0 issue \
             \"ca.example.net\"`), not letsencrypt.org: the CA will refuse; add `{want}`"
        )
    );
    assert_eq!(f.fix.as_deref(), Some(want.as_str()));
}

#[test]
fn caa_with_another_account_is_an_error() {
    let other = "https://acme-v02.api.letsencrypt.org/acme/acct/999";
    let seen = judged(
        "review.opendev.org",
        vec![rec(
            "issue",
            &format!("letsencrypt.org; accounturi={other}"),
        )],
        Verdict::WrongAccount {
            allowed: vec![other.into()],
        },
    );
    let f = caa("review.opendev.org", &ca(Some(ACCT)), &seen).expect("finding");
    assert!(
        f.message.starts_with(&format!(
            "CAA at review.opendev.org lets letsencrypt.org issue only for account {other}"
        )),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains(&format!("but certbridge's account is {ACCT}"))
    );
    let f = caa("review.opendev.org", &ca(None), &seen).expect("finding");
    assert!(
        f.message.contains("certbridge has no account for"),
        "{}",
        f.message
    );
    let seen = judged(
        "x.org",
        vec![rec("issue", "letsencrypt.org; validationmethods=http-01")],
        Verdict::WrongMethod {
            allowed: "http-01".into(),
        },
    );
    let f = caa("x.org", &ca(Some(ACCT)), &seen).expect("finding");
    assert!(
        f.message
            .contains("allows only the validation methods http-01")
    );
}

#[test]
fn lookup_failures_and_allowed_names() {
    let failed = CaaSeen::Failed {
        node: "opendev.org".into(),
        why: "answers SERVFAIL at resolver 127.0.0.1:53".into(),
    };
    let f = caa("opendev.org", &ca(None), &failed).expect("finding");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.message,
        "the CAA lookup for opendev.org answers SERVFAIL at resolver 127.0.0.1:53; the CA \
         refuses to issue when it cannot check CAA"
    );
    let open = judged("x", vec![], Verdict::Open);
    assert!(caa("a.opendev.org", &ca(None), &open).is_none());
}

#[test]
fn suggestions_group_names_by_node() {
    let allowed = Verdict::Allowed {
        pinned_account: false,
        pinned_method: false,
    };
    let seen = vec![
        (
            "a.opendev.org".to_owned(),
            judged("x", vec![], Verdict::Open),
        ),
        ("opendev.org".to_owned(), judged("x", vec![], Verdict::Open)),
        (
            "zuul-ci.org".to_owned(),
            judged(
                "zuul-ci.org",
                vec![rec("issue", "letsencrypt.org")],
                allowed,
            ),
        ),
        (
            "pinned.org".to_owned(),
            judged(
                "pinned.org",
                vec![rec("issue", "x")],
                Verdict::Allowed {
                    pinned_account: true,
                    pinned_method: true,
                },
            ),
        ),
    ];
    let f = caa_suggestions(&ca(Some(ACCT)), &seen);
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].severity, Severity::Info);
    assert_eq!(f[0].name, "opendev.org");
    assert!(
        f[0].message.starts_with(
            "no CAA record restricts issuance for 2 names (a.opendev.org, opendev.org); \
             Let's Encrypt enforces accounturi and validationmethods"
        ),
        "{}",
        f[0].message
    );
    assert_eq!(
        f[0].fix.as_deref(),
        Some(
            format!(
                "opendev.org. CAA 0 issue \"letsencrypt.org; accounturi={ACCT}; validationmethods=dns-01\""
            )
            .as_str()
        )
    );
    assert_eq!(f[1].name, "zuul-ci.org");
    let none = caa_suggestions(&ca(None), &seen[..1]);
    assert!(none[0].message.contains("once certbridge has an account"));
    let unknown = Ca {
        identity: None,
        ..ca(None)
    };
    assert!(caa_suggestions(&unknown, &seen).is_empty());
}
