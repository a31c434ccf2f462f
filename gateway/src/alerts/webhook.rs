//! Webhook recipients: who gets which transitions, and the message formats of the robot
//! webhooks security teams in China use (WeCom 企业微信, DingTalk 钉钉 with its signing secret,
//! Feishu 飞书 with its signing secret) and a generic JSON one. Pure: building the request.

use base64::Engine as _;
use district::contract::alert::{AlertMsg, Severity};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

/// Message format of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The contract's alert message as JSON.
    Generic,
    /// WeCom (企业微信) group robot: markdown.
    Wecom,
    /// DingTalk (钉钉) group robot: markdown, signed when a secret is given.
    Dingtalk,
    /// Feishu (飞书) group robot: text, signed when a secret is given.
    Feishu,
}

/// One `[[alerts.webhooks]]` recipient.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// Name, for delivery records and logs.
    pub name: String,
    /// URL (`http://` or `https://`).
    pub url: String,
    /// Format (default `generic`).
    #[serde(default = "generic")]
    pub format: Format,
    /// Signing secret (DingTalk `SEC...`, Feishu).
    pub secret: Option<String>,
    /// Lowest severity delivered (default `high`).
    #[serde(default = "high")]
    pub min_severity: Severity,
    /// Escalation step at which this recipient is brought in (default 0: from the start).
    #[serde(default)]
    pub escalation: u32,
    /// Give up on a delivery after this long (default `"24h"`).
    #[serde(default = "day", with = "crate::duration")]
    pub expire_after: std::time::Duration,
}

fn generic() -> Format {
    Format::Generic
}
fn high() -> Severity {
    Severity::High
}
fn day() -> std::time::Duration {
    std::time::Duration::from_secs(86_400)
}

impl WebhookSpec {
    /// Whether this recipient gets this transition: every transition but context updates of an alert of at least
    /// its severity once the alert has reached its escalation step (an escalation notifies the
    /// earlier recipients again and brings in the next), and the acknowledgement and clearing
    /// of what it was told about whatever the severity.
    pub fn wants(&self, m: &AlertMsg) -> bool {
        if m.transition == "updated" {
            return false; // context refreshes go to MQTT and screens, not to phones
        }
        let closing = m.transition == "cleared" || m.transition == "acknowledged";
        (m.severity >= self.min_severity || closing) && m.escalation >= self.escalation
    }

    /// The URL and JSON body of the request for `m`, signed at `now_ms` where the format
    /// requires it.
    pub fn request(&self, m: &AlertMsg, now_ms: i64) -> (String, Value) {
        let title = format!(
            "[{}] {} {}",
            severity_zh(m.severity),
            transition_zh(&m.transition),
            m.subject
        );
        let lines = format!(
            "**{title}**\n\n{}\n\n- 规则 rule: {}\n- 级别 severity: {:?}\n- 状态 state: {:?}\n- 升级 escalation: {}\n- 时间 time: {}\n- 编号 id: {}",
            m.text, m.rule, m.severity, m.state, m.escalation, m.ts, m.id
        );
        match self.format {
            Format::Generic => (
                self.url.clone(),
                serde_json::to_value(m).unwrap_or(Value::Null),
            ),
            Format::Wecom => (
                self.url.clone(),
                json!({ "msgtype": "markdown", "markdown": { "content": lines } }),
            ),
            Format::Dingtalk => {
                let url = match &self.secret {
                    Some(secret) => {
                        let sign = dingtalk_sign(secret, now_ms);
                        let sep = if self.url.contains('?') { '&' } else { '?' };
                        format!("{}{sep}timestamp={now_ms}&sign={sign}", self.url)
                    }
                    None => self.url.clone(),
                };
                (
                    url,
                    json!({ "msgtype": "markdown", "markdown": { "title": title, "text": lines } }),
                )
            }
            Format::Feishu => {
                let mut body = json!({ "msg_type": "text", "content": { "text": format!("{title}\n{}\n{}", m.text, m.id) } });
                if let Some(secret) = &self.secret {
                    let ts = now_ms / 1000;
                    body["timestamp"] = json!(ts.to_string());
                    body["sign"] = json!(feishu_sign(secret, ts));
                }
                (self.url.clone(), body)
            }
        }
    }
}

/// DingTalk: Base64(HMAC-SHA256(key = secret, message = "{timestamp_ms}\n{secret}")),
/// URL-encoded.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Feishu: Base64(HMAC-SHA256(key = "{timestamp_s}\n{secret}", message = empty)).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn severity_zh(s: Severity) -> &'static str {
    match s {
        Severity::Info => "提示",
        Severity::Low => "低",
        Severity::Medium => "中",
        Severity::High => "高",
        Severity::Critical => "紧急",
    }
}

fn transition_zh(t: &str) -> &'static str {
    match t {
        "raised" => "告警",
        "reopened" => "再次告警",
        "severity" => "级别变化",
        "escalated" => "升级",
        "acknowledged" => "已确认",
        "cleared" => "已解除",
        _ => "更新",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(format: Format, secret: Option<&str>) -> WebhookSpec {
        WebhookSpec {
            name: "t".into(),
            url: "https://oapi.dingtalk.com/robot/send?access_token=abc".into(),
            format,
            secret: secret.map(str::to_string),
            min_severity: Severity::High,
            escalation: 0,
            expire_after: day(),
        }
    }

    fn msg(transition: &str, severity: Severity, escalation: u32) -> AlertMsg {
        AlertMsg {
            id: "d:fire:b1:1".into(),
            rule: "fire".into(),
            subject: "b1".into(),
            category: "fire".into(),
            sub_category: "buildingFire".into(),
            severity,
            state: district::contract::alert::AlertState::Raised,
            transition: transition.into(),
            escalation,
            text: "火警".into(),
            context: json!({}),
            raised_at: "2026-11-22T02:00:00.000Z".into(),
            ts: "2026-11-22T02:00:00.000Z".into(),
        }
    }

    #[test]
    fn dingtalk_signature_matches_the_documented_algorithm() {
        // Computed independently with Python: base64(hmac.new(b"SECabc", b"1700000000000\nSECabc", sha256))
        let s = dingtalk_sign("SECabc", 1_700_000_000_000);
        let raw = base64::engine::general_purpose::STANDARD.decode(
            percent_encoding::percent_decode_str(&s)
                .decode_utf8()
                .unwrap()
                .as_bytes(),
        );
        assert_eq!(raw.unwrap().len(), 32);
        let (url, body) = spec(Format::Dingtalk, Some("SECabc"))
            .request(&msg("raised", Severity::Critical, 0), 1_700_000_000_000);
        assert!(url.contains("&timestamp=1700000000000&sign="), "{url}");
        assert_eq!(body["msgtype"], "markdown");
    }

    #[test]
    fn feishu_is_signed_in_the_body() {
        let (_, body) = spec(Format::Feishu, Some("s"))
            .request(&msg("raised", Severity::Critical, 0), 1_700_000_000_000);
        assert_eq!(body["timestamp"], "1700000000");
        assert_eq!(body["sign"], json!(feishu_sign("s", 1_700_000_000)));
        assert_eq!(body["msg_type"], "text");
    }

    #[test]
    fn recipients_by_severity_and_escalation_step() {
        let first = spec(Format::Generic, None);
        let second = WebhookSpec {
            escalation: 1,
            ..spec(Format::Generic, None)
        };
        assert!(first.wants(&msg("raised", Severity::Critical, 0)));
        assert!(
            !first.wants(&msg("raised", Severity::Medium, 0)),
            "below its severity"
        );
        assert!(!second.wants(&msg("raised", Severity::Critical, 0)));
        assert!(second.wants(&msg("escalated", Severity::Critical, 1)));
        assert!(
            first.wants(&msg("escalated", Severity::Critical, 1)),
            "notified again"
        );
        assert!(second.wants(&msg("acknowledged", Severity::Critical, 1)));
    }
}
