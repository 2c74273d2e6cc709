//! CAA evaluation (RFC 8659, with RFC 8657's `accounturi` and
//! `validationmethods`), as the CA will do it before issuing: find the
//! relevant RRset by climbing the name's tree, then decide whether it lets
//! this CA, this account and DNS-01 issue. Pure: the lookups happen in
//! [`super`].

/// One CAA record as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caa {
    /// Flags; 128 is issuer-critical.
    pub flags: u8,
    /// Property tag, lowercase.
    pub tag: String,
    /// Property value.
    pub value: String,
}

impl Caa {
    /// Presentation form, as in a zone file: `0 issue "letsencrypt.org"`.
    pub fn presentation(&self) -> String {
        format!("{} {} \"{}\"", self.flags, self.tag, self.value)
    }
}

/// Tags a CA understands (RFC 8659, RFC 9495, RFC 9606's `issuemail`, the
/// BIMI `issuevmc`); an unknown tag with the critical bit blocks issuance.
const KNOWN_TAGS: &[&str] = &[
    "issue",
    "issuewild",
    "iodef",
    "contactemail",
    "contactphone",
    "issuemail",
    "issuevmc",
];

/// The validation method certbridge uses (RFC 8657 `validationmethods`).
pub const METHOD: &str = "dns-01";

/// An `issue` / `issuewild` value: `issuer; key=value; ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueValue {
    /// The issuer domain, lowercase; `None` for `;` (no CA may issue).
    pub issuer: Option<String>,
    /// Parameters in order, keys lowercase.
    pub params: Vec<(String, String)>,
}

impl IssueValue {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse an `issue` value (RFC 8659 4.2); `None` when malformed, which a CA
/// treats as a record that names nobody.
pub fn parse_issue(value: &str) -> Option<IssueValue> {
    let (issuer, rest) = match value.split_once(';') {
        Some((i, r)) => (i.trim(), Some(r)),
        None => (value.trim(), None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !issuer.is_empty() && !issuer.split('.').all(label_ok) {
        return None;
    }
    let mut params = Vec::new();
    for p in rest.unwrap_or("").split(';').map(str::trim) {
        if p.is_empty() {
            continue;
        }
        let (k, v) = p.split_once('=')?;
        let (k, v) = (k.trim(), v.trim());
        if !label_ok(k) || v.chars().any(|c| c.is_whitespace() || c == ';') {
            return None;
        }
        params.push((k.to_ascii_lowercase(), v.to_owned()));
    }
    Some(IssueValue {
        issuer: (!issuer.is_empty()).then(|| issuer.to_ascii_lowercase()),
        params,
    })
}

/// What certbridge would ask the CA for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The certificate name (`*.x` for a wildcard).
    pub name: &'a str,
    /// The CA's issuer domains; empty = unknown.
    pub identities: &'a [String],
    /// The stored account URI for this CA, if there is one yet.
    pub account: Option<&'a str>,
}

/// The outcome for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The relevant RRset does not restrict issuance (or there is none).
    Open,
    /// A record lets this CA issue; whether it pins the account and method.
    Allowed {
        /// It has `accounturi` (ours).
        pinned_account: bool,
        /// It has `validationmethods` (with dns-01).
        pinned_method: bool,
    },
    /// Issuance is restricted, but the CA's issuer domain is not known.
    Unknown {
        /// The issuers the records name.
        issuers: Vec<String>,
    },
    /// An unknown tag carries the critical flag.
    Critical {
        /// The tag.
        tag: String,
    },
    /// No record names this CA (`issuers` may be empty: `;`, no CA at all).
    OtherIssuers {
        /// The issuers the records name.
        issuers: Vec<String>,
    },
    /// A record names this CA but only for other accounts.
    WrongAccount {
        /// The account URIs the records allow.
        allowed: Vec<String>,
    },
    /// A record names this CA but not with DNS-01.
    WrongMethod {
        /// The methods the record allows.
        allowed: String,
    },
}

impl Verdict {
    /// Whether the CA will refuse.
    pub fn denies(&self) -> bool {
        matches!(
            self,
            Verdict::Critical { .. }
                | Verdict::OtherIssuers { .. }
                | Verdict::WrongAccount { .. }
                | Verdict::WrongMethod { .. }
        )
    }
}

/// The relevant RRset: the records at the first node, from the name up,
/// that has any (RFC 8659 3). `tree` lists (node, records) from the name
/// (without `*.`) upwards; returns the node and its records.
pub fn relevant(tree: &[(String, Vec<Caa>)]) -> Option<(&str, &[Caa])> {
    tree.iter()
        .find(|(_, records)| !records.is_empty())
        .map(|(node, records)| (node.as_str(), records.as_slice()))
}

/// Decide as the CA will for `req` given the relevant RRset.
pub fn evaluate(req: &Request<'_>, records: &[Caa]) -> Verdict {
    if let Some(c) = records
        .iter()
        .find(|c| c.flags & 128 != 0 && !KNOWN_TAGS.contains(&c.tag.as_str()))
    {
        return Verdict::Critical { tag: c.tag.clone() };
    }
    // issuewild governs a wildcard where present; issue otherwise.
    let wildcard = req.name.starts_with("*.");
    let by_tag = |tag: &str| -> Vec<&Caa> { records.iter().filter(|c| c.tag == tag).collect() };
    let set = match by_tag("issuewild") {
        w if wildcard && !w.is_empty() => w,
        _ => by_tag("issue"),
    };
    if set.is_empty() {
        return Verdict::Open;
    }
    let values: Vec<IssueValue> = set.iter().filter_map(|c| parse_issue(&c.value)).collect();
    let issuers: Vec<String> = values.iter().filter_map(|v| v.issuer.clone()).collect();
    if req.identities.is_empty() {
        return Verdict::Unknown { issuers };
    }
    let ours = |v: &&IssueValue| {
        v.issuer
            .as_deref()
            .is_some_and(|i| req.identities.iter().any(|id| id.eq_ignore_ascii_case(i)))
    };
    let mut wrong_account = Vec::new();
    let mut wrong_method = None;
    for v in values.iter().filter(ours) {
        let account = v.param("accounturi");
        let methods = v.param("validationmethods");
        if let Some(uri) = account
            && req.account != Some(uri)
        {
            wrong_account.push(uri.to_owned());
            continue;
        }
        if let Some(m) = methods
            && !m.split(',').any(|m| m.trim().eq_ignore_ascii_case(METHOD))
        {
            wrong_method = Some(m.to_owned());
            continue;
        }
        return Verdict::Allowed {
            pinned_account: account.is_some(),
            pinned_method: methods.is_some(),
        };
    }
    if !wrong_account.is_empty() {
        return Verdict::WrongAccount {
            allowed: wrong_account,
        };
    }
    if let Some(allowed) = wrong_method {
        return Verdict::WrongMethod { allowed };
    }
    Verdict::OtherIssuers { issuers }
}

/// The record that lets this CA issue through `account` with DNS-01 only.
pub fn suggested_record(node: &str, identity: &str, account: Option<&str>) -> String {
    let account = account.map_or(String::new(), |a| format!("; accounturi={a}"));
    format!("{node}. CAA 0 issue \"{identity}{account}; validationmethods={METHOD}\"")
}

/// The CAA issuer domain of well-known ACME directories (what their
/// `meta.caaIdentities` says), so most operators need not configure it.
pub fn known_identity(directory: &str) -> Option<&'static str> {
    let host = directory
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let under = |d: &str| host == d || host.ends_with(&format!(".{d}"));
    [
        ("letsencrypt.org", "letsencrypt.org"),
        ("zerossl.com", "sectigo.com"),
        ("sectigo.com", "sectigo.com"),
        ("pki.goog", "pki.goog"),
        ("buypass.com", "buypass.com"),
        ("ssl.com", "ssl.com"),
        ("digicert.com", "digicert.com"),
    ]
    .into_iter()
    .find(|(suffix, _)| under(suffix))
    .map(|(_, id)| id)
}

#[cfg(test)]
#[path = "caa_tests.rs"]
mod tests;
