//! Credentials from a kubeconfig `exec` plugin, and credentials that expire.
//!
//! The plugin runs once, before the client is built, and what it prints becomes the client's
//! token or certificate (the client would run it three times on its own while it is built).
//! A token can still be refused later (expired, revoked, rotated): kubectl then runs the
//! plugin again and sends the refused request again with the new token, and so does
//! [`RenewingClient`] — at most once per command, so that a plugin whose every token is
//! refused ends in the 401 error instead of a loop.

use std::io::IsTerminal;
use std::process::{Command, Stdio};

use base64::Engine as _;
use kube::client::AuthError;
use kube::config::{AuthInfo, ExecAuthCluster, ExecConfig, ExecInteractiveMode};
use kube::{Client, Config};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// The client, built again (running the credential plugin again) after a 401.
pub struct RenewingClient {
    /// What the client is built from, kept only when the user has a credential plugin: other
    /// credentials (a token, a certificate) give the same answer when read again.
    config: Option<Config>,
    /// The client in use. An async lock: requests refused together wait for one renewal.
    current: Mutex<Current>,
}

struct Current {
    client: Client,
    /// How many times the credentials were renewed: 0 or 1.
    renewals: u32,
    /// Whether the plugin was run again, successfully or not.
    tried: bool,
}

/// What to do after a 401 from a client of a given renewal.
#[derive(Debug, PartialEq, Eq)]
enum AfterRefusal {
    /// Another request renewed the credentials since: send again with the current client.
    UseCurrent,
    /// Run the credential plugin again.
    Renew,
    /// No plugin, or it already ran again this command: the 401 is the answer.
    GiveUp,
}

/// The one rule: the credentials are renewed once per command, and only from a plugin.
/// `used` is the renewal of the refused client, `current` the latest, `tried` whether the
/// plugin already ran again.
fn after_refusal(has_plugin: bool, used: u32, current: u32, tried: bool) -> AfterRefusal {
    if used < current {
        AfterRefusal::UseCurrent
    } else if has_plugin && !tried {
        AfterRefusal::Renew
    } else {
        AfterRefusal::GiveUp
    }
}

impl RenewingClient {
    /// Builds the client (running the credential plugin, if any).
    pub fn new(config: Config) -> kube::Result<RenewingClient> {
        let client = build(&config)?;
        let renewable = plugin_in_use(&config.auth_info).is_some().then_some(config);
        Ok(RenewingClient {
            config: renewable,
            current: Mutex::new(Current {
                client,
                renewals: 0,
                tried: false,
            }),
        })
    }

    /// Runs `exchange` (one request and its answer) with the client in use; after a 401,
    /// once more with renewed credentials. `exchange` builds its request anew each time: a
    /// request is consumed by sending it.
    pub async fn with_renewal<T, F, Fut>(&self, exchange: F) -> kube::Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = kube::Result<T>>,
    {
        let (client, used) = {
            let current = self.current.lock().await;
            (current.client.clone(), current.renewals)
        };
        match exchange(client).await {
            Err(kube::Error::Api(status)) if status.code == 401 => match self.renewed(used).await {
                Some(renewed) => exchange(renewed?).await,
                None => Err(kube::Error::Api(status)),
            },
            other => other,
        }
    }

    /// The client to send a refused request again with, if there is one: `None` when the 401
    /// stands; an error when the plugin failed.
    async fn renewed(&self, used: u32) -> Option<kube::Result<Client>> {
        let mut current = self.current.lock().await;
        let has_plugin = self.config.is_some();
        match after_refusal(has_plugin, used, current.renewals, current.tried) {
            AfterRefusal::UseCurrent => Some(Ok(current.client.clone())),
            AfterRefusal::GiveUp => None,
            AfterRefusal::Renew => {
                // Before the plugin runs: a plugin that fails is not run a third time.
                current.tried = true;
                let config = self.config.clone()?;
                // The plugin is a process: waited for off the runtime's thread, so that the
                // answers to requests still under way are read meanwhile.
                let built = tokio::task::spawn_blocking(move || build(&config)).await;
                let client = match built {
                    Ok(built) => built,
                    Err(e) => Err(kube::Error::Service(Box::new(e))),
                };
                Some(client.inspect(|client| {
                    current.client = client.clone();
                    current.renewals += 1;
                }))
            }
        }
    }
}

/// The client, the credential plugin run first (once) when the user has one.
fn build(config: &Config) -> kube::Result<Client> {
    let mut config = config.clone();
    if let Some(exec) = plugin_in_use(&config.auth_info) {
        let credential = run_plugin(exec).map_err(kube::Error::Auth)?;
        credential.into_auth_info(&mut config.auth_info);
    }
    Client::try_from(config)
}

/// The plugin, when the user's credentials come from it: the client prefers an auth
/// provider, a user name and password, a token and a token file to it, in that order.
fn plugin_in_use(auth: &AuthInfo) -> Option<&ExecConfig> {
    let other = auth.auth_provider.is_some()
        || (auth.username.is_some() && auth.password.is_some())
        || auth.token.is_some()
        || auth.token_file.is_some();
    if other { None } else { auth.exec.as_ref() }
}

/// What a credential plugin printed.
#[derive(Debug, PartialEq, Eq)]
enum Credential {
    Token(String),
    /// PEM certificate and key.
    Certificate {
        certificate: String,
        key: String,
    },
}

impl Credential {
    /// The credential as the kubeconfig would give it, in place of the plugin.
    fn into_auth_info(self, auth: &mut AuthInfo) {
        auth.exec = None;
        match self {
            Credential::Token(token) => auth.token = Some(SecretString::from(token)),
            Credential::Certificate { certificate, key } => {
                let base64 = base64::engine::general_purpose::STANDARD;
                auth.client_certificate_data = Some(base64.encode(certificate));
                auth.client_key_data = Some(SecretString::from(base64.encode(key)));
            }
        }
    }
}

/// `KUBERNETES_EXEC_INFO`: what the plugin is told of the request.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecInfo<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'a str>,
    kind: &'static str,
    spec: ExecInfoSpec<'a>,
}

#[derive(Serialize)]
struct ExecInfoSpec<'a> {
    interactive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'a ExecAuthCluster>,
}

/// The `ExecCredential` a plugin prints (JSON, or YAML as client-go accepts too).
#[derive(Deserialize)]
struct Printed {
    status: Option<PrintedStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrintedStatus {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// Runs the plugin as the kubeconfig says: its arguments, its environment added to ours, the
/// cluster when `provideClusterInfo` asks for it; the terminal handed over only when it may
/// ask the user something and there is a terminal. Its failures are the client's own error
/// variants, which `failure` turns into one line without the plugin's arguments.
fn run_plugin(exec: &ExecConfig) -> Result<Credential, AuthError> {
    let program = exec.command.as_deref().ok_or(AuthError::MissingCommand)?;
    let interactive =
        exec.interactive_mode != Some(ExecInteractiveMode::Never) && std::io::stdin().is_terminal();
    let cluster = match (exec.provide_cluster_info, &exec.cluster) {
        (false, _) => None,
        (true, Some(cluster)) => Some(cluster),
        (true, None) => return Err(AuthError::ExecMissingClusterInfo),
    };
    let info = ExecInfo {
        api_version: exec.api_version.as_deref(),
        kind: "ExecCredential",
        spec: ExecInfoSpec {
            interactive,
            cluster,
        },
    };
    let info = serde_json::to_string(&info).map_err(AuthError::AuthExecSerialize)?;
    let mut command = Command::new(program);
    command.args(exec.args.iter().flatten());
    for variable in exec.env.iter().flatten() {
        if let (Some(name), Some(value)) = (variable.get("name"), variable.get("value")) {
            command.env(name, value);
        }
    }
    command.env("KUBERNETES_EXEC_INFO", info);
    command.stdout(Stdio::piped());
    if interactive {
        command.stdin(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        command.stdin(Stdio::null()).stderr(Stdio::piped());
    }
    let out = command.output().map_err(AuthError::AuthExecStart)?;
    if !out.status.success() {
        return Err(AuthError::AuthExecRun {
            cmd: program.to_string(),
            out: Box::new(out),
        });
    }
    read_credential(&out.stdout)
}

/// The token, or the certificate and key, of a printed `ExecCredential`.
fn read_credential(stdout: &[u8]) -> Result<Credential, AuthError> {
    let printed: Printed =
        serde_saphyr::from_slice(stdout).map_err(|e| AuthError::AuthExecParse(Box::new(e)))?;
    let status = printed.status.ok_or(AuthError::ExecPluginFailed)?;
    match status {
        PrintedStatus {
            token: Some(token), ..
        } if !token.is_empty() => Ok(Credential::Token(token)),
        PrintedStatus {
            client_certificate_data: Some(certificate),
            client_key_data: Some(key),
            ..
        } => Ok(Credential::Certificate { certificate, key }),
        _ => Err(AuthError::ExecPluginFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_token_or_certificate_is_read() {
        let token = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"abc","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#;
        assert_eq!(
            read_credential(token).unwrap(),
            Credential::Token("abc".into())
        );
        let yaml =
            b"kind: ExecCredential\nstatus:\n  clientCertificateData: CERT\n  clientKeyData: KEY\n";
        assert_eq!(
            read_credential(yaml).unwrap(),
            Credential::Certificate {
                certificate: "CERT".into(),
                key: "KEY".into()
            }
        );
    }

    /// What the plugin reads from `KUBERNETES_EXEC_INFO`, as client-go writes it.
    #[test]
    fn the_plugin_is_told_the_request_and_the_cluster_when_asked() {
        let cluster = ExecAuthCluster {
            server: Some("https://k:6443".into()),
            certificate_authority_data: Some(b"CA".to_vec()),
            ..ExecAuthCluster::default()
        };
        let info = ExecInfo {
            api_version: Some("client.authentication.k8s.io/v1"),
            kind: "ExecCredential",
            spec: ExecInfoSpec {
                interactive: false,
                cluster: Some(&cluster),
            },
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({
                "apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "spec": {"interactive": false, "cluster": {
                    "server": "https://k:6443", "certificate-authority-data": "Q0E="}}
            })
        );
    }

    #[test]
    fn a_credential_without_token_or_certificate_is_refused() {
        for printed in [
            &br#"{"kind":"ExecCredential"}"#[..],
            br#"{"status":{"token":""}}"#,
        ] {
            assert!(matches!(
                read_credential(printed),
                Err(AuthError::ExecPluginFailed)
            ));
        }
        assert!(matches!(
            read_credential(b"{not: [json"),
            Err(AuthError::AuthExecParse(_))
        ));
    }

    #[test]
    fn the_credential_replaces_the_plugin() {
        let mut auth = AuthInfo {
            exec: Some(ExecConfig {
                command: Some("get-token".into()),
                ..serde_json::from_str("{}").unwrap()
            }),
            ..AuthInfo::default()
        };
        assert!(plugin_in_use(&auth).is_some());
        Credential::Token("abc".into()).into_auth_info(&mut auth);
        assert!(auth.exec.is_none() && auth.token.is_some());
        assert!(plugin_in_use(&auth).is_none());
    }

    #[test]
    fn a_token_in_the_kubeconfig_wins_over_the_plugin() {
        let auth: AuthInfo = serde_json::from_value(serde_json::json!({
            "token": "t",
            "exec": {"command": "get-token", "apiVersion": "client.authentication.k8s.io/v1"}
        }))
        .unwrap();
        assert!(plugin_in_use(&auth).is_none());
    }

    #[test]
    fn a_plugin_is_run_again_once_per_command() {
        assert_eq!(after_refusal(true, 0, 0, false), AfterRefusal::Renew);
        assert_eq!(
            after_refusal(true, 1, 1, true),
            AfterRefusal::GiveUp,
            "no loop"
        );
    }

    #[test]
    fn requests_refused_together_share_one_renewal() {
        assert_eq!(after_refusal(true, 0, 1, true), AfterRefusal::UseCurrent);
    }

    #[test]
    fn a_plugin_that_failed_again_is_not_run_a_third_time() {
        assert_eq!(after_refusal(true, 0, 0, true), AfterRefusal::GiveUp);
    }

    #[test]
    fn without_a_plugin_a_401_stands() {
        assert_eq!(after_refusal(false, 0, 0, false), AfterRefusal::GiveUp);
    }
}
