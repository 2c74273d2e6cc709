//! CAA evaluation against the RFC 8659 and RFC 8657 examples and edge cases.

use super::*;

fn caa(flags: u8, tag: &str, value: &str) -> Caa {
    Caa {
        flags,
        tag: tag.into(),
        value: value.into(),
    }
}

const LE: &[&str] = &["letsencrypt.org"];
const ACCT: &str = "https://acme-v02.api.letsencrypt.org/acme/acct/1234";

fn verdict(name: &str, account: Option<&str>, records: &[Caa]) -> Verdict {
    let ids: Vec<String> = LE.iter().map(|s| (*s).to_owned()).collect();
    evaluate(
        &Request {
            name,
            identities: &ids,
            account,
        },
        records,
    )
}

#[test]
fn issue_values_parse_per_rfc_8659() {
    let v = parse_issue("letsencrypt.org").expect("plain");
    assert_eq!(v.issuer.as_deref(), Some("letsencrypt.org"));
    assert!(v.params.is_empty());
    let v = parse_issue(
        " LetsEncrypt.org ;accounturi=https://x/acct/1 ; validationmethods=dns-01,http-01",
    )
    .expect("params");
    assert_eq!(v.issuer.as_deref(), Some("letsencrypt.org"));
    assert_eq!(v.param("accounturi"), Some("https://x/acct/1"));
    assert_eq!(v.param("validationmethods"), Some("dns-01,http-01"));
    assert_eq!(parse_issue(";").expect("none").issuer, None);
    assert_eq!(parse_issue("").expect("empty").issuer, None);
    assert!(parse_issue("bad_issuer.org").is_none());
    assert!(parse_issue("letsencrypt.org; novalue").is_none());
}

#[test]
fn open_without_issue_records() {
    assert_eq!(verdict("a.example.org", None, &[]), Verdict::Open);
    let iodef = [caa(0, "iodef", "mailto:x@example.org")];
    assert_eq!(verdict("a.example.org", None, &iodef), Verdict::Open);
    // Unknown tags without the critical bit are ignored.
    assert_eq!(
        verdict("a", None, &[caa(0, "futuretag", "x")]),
        Verdict::Open
    );
    assert_eq!(
        verdict("a", None, &[caa(128, "futuretag", "x")]),
        Verdict::Critical {
            tag: "futuretag".into()
        }
    );
}

#[test]
fn issuer_account_and_method() {
    let allowed = |pa, pm| Verdict::Allowed {
        pinned_account: pa,
        pinned_method: pm,
    };
    let r = [caa(0, "issue", "letsencrypt.org")];
    assert_eq!(verdict("a", None, &r), allowed(false, false));
    let r = [caa(0, "issue", "pki.goog"), caa(0, "issue", ";")];
    assert_eq!(
        verdict("a", None, &r),
        Verdict::OtherIssuers {
            issuers: vec!["pki.goog".into()]
        }
    );
    let r = [caa(0, "issue", ";")];
    assert!(verdict("a", None, &r).denies());
    let pinned = format!("letsencrypt.org; accounturi={ACCT}; validationmethods=dns-01");
    let r = [caa(0, "issue", &pinned)];
    assert_eq!(verdict("a", Some(ACCT), &r), allowed(true, true));
    assert_eq!(
        verdict("a", Some("https://other/acct/9"), &r),
        Verdict::WrongAccount {
            allowed: vec![ACCT.into()]
        }
    );
    assert_eq!(
        verdict("a", None, &r),
        Verdict::WrongAccount {
            allowed: vec![ACCT.into()]
        },
        "no stored account: the one a pulse creates cannot match"
    );
    let r = [caa(
        0,
        "issue",
        "letsencrypt.org; validationmethods=http-01",
    )];
    assert_eq!(
        verdict("a", Some(ACCT), &r),
        Verdict::WrongMethod {
            allowed: "http-01".into()
        }
    );
    // A second record that allows us wins over one that does not.
    let r = [
        caa(0, "issue", "letsencrypt.org; accounturi=https://old/1"),
        caa(0, "issue", &format!("letsencrypt.org; accounturi={ACCT}")),
    ];
    assert_eq!(verdict("a", Some(ACCT), &r), allowed(true, false));
}

#[test]
fn wildcards_use_issuewild_when_present() {
    let r = [caa(0, "issue", "letsencrypt.org"), caa(0, "issuewild", ";")];
    assert_eq!(
        verdict("*.example.org", None, &r),
        Verdict::OtherIssuers { issuers: vec![] }
    );
    assert!(!verdict("example.org", None, &r).denies());
    let r = [caa(0, "issue", "letsencrypt.org")];
    assert!(!verdict("*.example.org", None, &r).denies());
}

#[test]
fn unknown_ca_cannot_be_judged() {
    let r = [caa(0, "issue", "letsencrypt.org")];
    let v = evaluate(
        &Request {
            name: "a",
            identities: &[],
            account: None,
        },
        &r,
    );
    assert_eq!(
        v,
        Verdict::Unknown {
            issuers: vec!["letsencrypt.org".into()]
        }
    );
    assert!(!v.denies());
}

#[test]
fn the_first_node_with_records_is_relevant() {
    let tree = vec![
        ("www.example.org".to_owned(), vec![]),
        ("example.org".to_owned(), vec![caa(0, "issue", "x.net")]),
        ("org".to_owned(), vec![caa(0, "issue", ";")]),
    ];
    let (node, recs) = relevant(&tree).expect("found");
    assert_eq!(node, "example.org");
    assert_eq!(recs.len(), 1);
    assert!(relevant(&tree[..1]).is_none());
}

#[test]
fn identities_and_suggestions() {
    assert_eq!(
        known_identity("https://acme-v02.api.letsencrypt.org/directory"),
        Some("letsencrypt.org")
    );
    assert_eq!(
        known_identity("https://acme-staging-v02.api.letsencrypt.org/directory"),
        Some("letsencrypt.org")
    );
    assert_eq!(
        known_identity("https://acme.zerossl.com/v2/DV90"),
        Some("sectigo.com")
    );
    assert_eq!(known_identity("https://127.0.0.1:14000/dir"), None);
    assert_eq!(known_identity("https://notletsencrypt.org/dir"), None);
    assert_eq!(
        suggested_record("opendev.org", "letsencrypt.org", Some(ACCT)),
        format!(
            "opendev.org. CAA 0 issue \"letsencrypt.org; accounturi={ACCT}; validationmethods=dns-01\""
        )
    );
    assert_eq!(
        suggested_record("opendev.org", "letsencrypt.org", None),
        "opendev.org. CAA 0 issue \"letsencrypt.org; validationmethods=dns-01\""
    );
    assert_eq!(caa(128, "issue", ";").presentation(), "128 issue \";\"");
}
