//! The `signgate` command line: parsing and printing only.
//!
//! Owns: commands, flags and exit codes. Must not: hold logic beyond parsing and printing
//! (the work is done by `app`, `archive`, `sealing`, …).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use time::OffsetDateTime;

use crate::app;
use crate::config::Config;
use crate::identity::nin::is_valid_orgnr;

#[derive(Parser)]
#[command(
    name = "signgate",
    version,
    about = "Federated EU-interop signing gateway"
)]
struct Cli {
    /// Configuration file (TOML), layered over the embedded defaults.
    #[arg(long, global = true, env = "SIGNGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (API, signing ceremonies, sealing workers, scheduler).
    Serve {
        /// Address to listen on (overrides server.listen; port 0 picks a free port).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Manage organisations and their API keys.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Inspect the gateway's keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// The hash-chained audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Validate the signatures in a PDF (PAdES), XML (XAdES) or CMS (CAdES) file per
    /// ETSI EN 319 102-1, with qualification from the EU trusted lists. Exit code 0 when
    /// every signature is TOTAL_PASSED, 1 otherwise, 2 on bad input.
    Validate {
        /// The signed file.
        file: PathBuf,
        /// The signed document of a detached XAdES/CAdES signature.
        #[arg(long)]
        detached: Option<PathBuf>,
        /// Validation time (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        /// Additional trust anchor certificates (PEM or DER file, may hold several).
        #[arg(long = "trust-anchor")]
        trust_anchor: Vec<PathBuf>,
        /// Do not use the stored EU trusted lists (only --trust-anchor).
        #[arg(long)]
        no_trusted_lists: bool,
        /// Never fetch OCSP responses or CRLs online.
        #[arg(long)]
        offline: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
    },
    /// EU trusted lists: the LOTL, its pivots and the national lists.
    Trust {
        #[command(subcommand)]
        command: TrustCommand,
    },
    /// The development RFC 3161 time-stamping unit (dev profile only).
    Tsa {
        #[command(subcommand)]
        command: TsaCommand,
    },
}

#[derive(Subcommand)]
enum TsaCommand {
    /// Serve the development time-stamping unit over HTTP (`POST /` or `POST /tsa`,
    /// application/timestamp-query). Refused in the production profile.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:3161")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Subcommand)]
enum TrustCommand {
    /// Download (or with --from-dir, read), verify and store the trusted lists.
    Refresh {
        /// Load every XML file in DIR: the LOTL, its pivots and national lists (matched to
        /// the LOTL's pointers by territory, pivots by sequence number).
        #[arg(long)]
        from_dir: Option<PathBuf>,
        /// Further directories searched for pivot LOTLs.
        #[arg(long)]
        pivot_dir: Vec<PathBuf>,
        /// Validation time (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Show the stored lists and their status (re-verified from the store).
    Show {
        #[arg(long)]
        territory: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// List every trust service instead of the lists.
        #[arg(long)]
        services: bool,
        /// Evaluate at this time (RFC 3339); default: the time of the last refresh.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Text,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    /// The JSON report (design.md).
    Json,
    /// Human-readable text.
    Text,
    /// ETSI TS 119 102-2 validation report (XML).
    EtsiXml,
}

fn parse_time(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{s:?} is not an RFC 3339 time"))
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Register an organisation and print a new API key (shown once).
    Add {
        #[arg(long)]
        orgnr: String,
        #[arg(long)]
        name: String,
    },
    /// List organisations.
    List,
    /// Issue an additional API key for an organisation.
    Key {
        #[arg(long)]
        orgnr: String,
    },
    /// Revoke an organisation and all its API keys.
    Revoke {
        #[arg(long)]
        orgnr: String,
    },
    /// Print the secret that signs the organisation's webhooks (Signgate-Signature header).
    WebhookSecret {
        #[arg(long)]
        orgnr: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print the seal certificate chain as PEM (leaf first, root last).
    Chain {
        /// The development time-stamping unit's chain instead (dev profile).
        #[arg(long)]
        tsa: bool,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply pending migrations.
    Migrate,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute an organisation's audit chain and report the first broken link.
    Verify {
        #[arg(long)]
        orgnr: String,
    },
}

pub fn main() -> ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("signgate: {e}");
            return ExitCode::from(2);
        }
    };
    app::init_logging(&cfg);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signgate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signgate: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, skipping a cause whose text the message already contains.
fn error_chain(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

async fn run(cmd: Command, mut cfg: Config) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    match cmd {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                cfg.server.listen = l;
            }
            app::serve(cfg).await
        }
        Command::Org { command } => {
            let store = app::open_store(&cfg).await?;
            match command {
                OrgCommand::Add { orgnr, name } => {
                    if !is_valid_orgnr(&orgnr) {
                        bail!("{orgnr:?} is not a valid organisation number (9 digits, mod-11)");
                    }
                    let name = name.trim();
                    if name.is_empty() || name.chars().count() > 200 {
                        bail!("the name must be 1-200 characters");
                    }
                    let org = match store.create_org(&orgnr, name, now).await {
                        Ok(o) => o,
                        Err(crate::archive::store::StoreError::Duplicate) => {
                            bail!("organisation {orgnr} is already registered")
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let key = crate::http::auth::issue_api_key(&store, &org, now).await?;
                    eprintln!(
                        "registered {} ({}); API key (shown once):",
                        org.name, org.orgnr
                    );
                    println!("{key}");
                }
                OrgCommand::List => {
                    for o in store.orgs().await? {
                        let status = if o.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        println!("{}\t{}\t{}", o.orgnr, status, o.name);
                    }
                }
                OrgCommand::Key { orgnr } => {
                    let org = store
                        .org_by_orgnr(&orgnr)
                        .await?
                        .filter(|o| o.revoked_at.is_none())
                        .with_context(|| format!("no active organisation {orgnr}"))?;
                    println!(
                        "{}",
                        crate::http::auth::issue_api_key(&store, &org, now).await?
                    );
                }
                OrgCommand::WebhookSecret { orgnr } => {
                    let org = store
                        .org_by_orgnr(&orgnr)
                        .await?
                        .with_context(|| format!("no organisation {orgnr}"))?;
                    println!("{}", store.webhook_secret(&org.id).await?);
                }
                OrgCommand::Revoke { orgnr } => {
                    if !store.revoke_org(&orgnr, now).await? {
                        bail!("no active organisation {orgnr}");
                    }
                    eprintln!("revoked {orgnr} and its API keys");
                }
            }
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Chain { tsa },
        } => {
            if tsa {
                let Some(unit) = app::load_tsa_unit(&cfg)? else {
                    bail!(
                        "no development time-stamping unit (profile dev with tsa.dev_unit = true); \
                         external TSAs are configured under [tsa] urls"
                    );
                };
                print!("{}", unit.chain_pem());
                return Ok(());
            }
            let key = app::load_seal_key(&cfg)?;
            print!("{}", key.chain_pem());
            Ok(())
        }
        Command::Db {
            command: DbCommand::Migrate,
        } => {
            app::open_store(&cfg).await?;
            eprintln!(
                "database {} is up to date",
                app::redact_url(&cfg.database.url)
            );
            Ok(())
        }
        Command::Trust { command } => trust(command, &cfg, now).await,
        Command::Tsa {
            command: TsaCommand::Serve { listen },
        } => app::serve_tsa(cfg, listen).await,
        Command::Validate {
            file,
            detached,
            at,
            trust_anchor,
            no_trusted_lists,
            offline,
            format,
        } => {
            let at = at.as_deref().map(parse_time).transpose()?.unwrap_or(now);
            let code = validate(
                &cfg,
                &file,
                detached.as_deref(),
                at,
                &trust_anchor,
                !no_trusted_lists,
                offline,
                format,
            )
            .await?;
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            std::process::exit(code);
        }
        Command::Audit {
            command: AuditCommand::Verify { orgnr },
        } => {
            let store = app::open_store(&cfg).await?;
            let org = store
                .org_by_orgnr(&orgnr)
                .await?
                .with_context(|| format!("no organisation {orgnr}"))?;
            let n = store.verify_audit_chain(&org.id).await?;
            println!("audit chain of {orgnr} intact: {n} events");
            Ok(())
        }
    }
}

async fn trust(cmd: TrustCommand, cfg: &Config, now: OffsetDateTime) -> Result<()> {
    use crate::trust::{load, store};
    let (anchors, mut opts) = app::trust_setup(cfg)?;
    let t = &cfg.trust;
    match cmd {
        TrustCommand::Refresh {
            from_dir,
            pivot_dir,
            at,
        } => {
            let at = at.as_deref().map(parse_time).transpose()?.unwrap_or(now);
            let Some(dir) = from_dir else {
                if !pivot_dir.is_empty() {
                    bail!("--pivot-dir needs --from-dir");
                }
                let params = app::trust_refresh_params(cfg)?;
                let client = app::trust_http_client()?;
                let out = crate::trust::refresh::refresh(&client, &params, at).await?;
                print!("{}", out.state.report_text());
                for f in out.fetch.failures() {
                    if let crate::trust::fetch::FetchOutcome::Failed { reason } = &f.outcome {
                        eprintln!(
                            "download failed: {} {} {}: {reason}",
                            f.role, f.territory, f.url
                        );
                    }
                }
                for k in &out.kept {
                    eprintln!(
                        "{}: last good copy seq {} kept in force ({})",
                        k.territory, k.sequence, k.reason
                    );
                }
                let not_modified = std::iter::once(&out.fetch.lotl)
                    .chain(&out.fetch.documents)
                    .filter(|d| d.outcome == crate::trust::fetch::FetchOutcome::NotModified)
                    .count();
                eprintln!(
                    "stored in {} ({} download(s), {not_modified} not modified)",
                    t.store_dir.display(),
                    out.fetch.documents.len() + 1
                );
                return Ok(());
            };
            opts.pivot_dirs = pivot_dir;
            let state = load::load_dir(&dir, &anchors, &t.lotl_url, at, &opts)?;
            store::save_verified(&state, &t.store_dir)?;
            print!("{}", state.report_text());
            eprintln!("stored in {}", t.store_dir.display());
            Ok(())
        }
        TrustCommand::Show {
            territory,
            format,
            services,
            at,
        } => {
            let at = match at {
                Some(a) => parse_time(&a)?,
                None => {
                    store::read_state(&t.store_dir)
                        .with_context(|| {
                            format!(
                                "no stored trusted lists in {}; run `signgate trust refresh`",
                                t.store_dir.display()
                            )
                        })?
                        .at
                }
            };
            let (mut state, _) = store::load_store(&t.store_dir, &anchors, &t.lotl_url, at, &opts)?;
            if let Some(cc) = &territory {
                state.retain_territory(cc);
            }
            let last = crate::trust::refresh::read_status(&t.store_dir);
            let failed = last.as_ref().filter(|s| !s.ok);
            match (services, format) {
                (false, Format::Json) => {
                    let mut report: serde_json::Value = serde_json::from_str(&state.report_json())?;
                    if let (Some(obj), Some(last)) = (report.as_object_mut(), &last) {
                        obj.insert("last_refresh".into(), serde_json::to_value(last)?);
                    }
                    println!("{}", serde_json::to_string_pretty(&report)?);
                }
                (false, Format::Text) => {
                    if let Some(f) = failed {
                        println!(
                            "LAST REFRESH FAILED at {}: {} (the lists below are the last good copies)",
                            f.attempted_at,
                            f.error.as_deref().unwrap_or("unknown error")
                        );
                    }
                    print!("{}", state.report_text());
                }
                (true, Format::Json) => println!(
                    "{}",
                    serde_json::to_string_pretty(&state.services_report(territory.as_deref()))?
                ),
                (true, Format::Text) => {
                    for r in state.services_report(territory.as_deref()) {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            r.territory,
                            r.type_,
                            r.status,
                            r.start.date(),
                            r.provider,
                            r.name
                        );
                    }
                }
            }
            Ok(())
        }
    }
}

/// `signgate validate`: returns the process exit code (0 all passed, 1 otherwise, 2 bad
/// input).
#[allow(clippy::too_many_arguments)]
async fn validate(
    cfg: &Config,
    file: &std::path::Path,
    detached: Option<&std::path::Path>,
    at: OffsetDateTime,
    anchors: &[PathBuf],
    use_tls: bool,
    offline: bool,
    format: ReportFormat,
) -> Result<i32> {
    let mut v = crate::validation::Validator::new();
    for a in anchors {
        let certs = std::fs::read(a)
            .map_err(|e| e.to_string())
            .and_then(|b| crate::validation::certs_from_pem_or_der(&b).map_err(|e| e.to_string()));
        match certs {
            Ok(c) => v.explicit_anchors.extend(c),
            Err(e) => {
                eprintln!("error: trust anchor {}: {e}", a.display());
                return Ok(2);
            }
        }
    }
    if use_tls {
        v.registry = app::stored_trust(cfg, at)?.map(|s| s.registry);
        if v.registry.is_none() && anchors.is_empty() {
            eprintln!(
                "warning: no stored trusted lists (run `signgate trust refresh`) and no --trust-anchor: nothing is trusted"
            );
        }
    }
    if !offline {
        v.fetcher = Some(std::sync::Arc::new(
            crate::validation::revocation::HttpFetcher::new()?,
        ));
    }
    let input = match crate::validation::read_input(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return Ok(2);
        }
    };
    let det = match detached {
        Some(p) => match std::fs::read(p) {
            Ok(b) => Some((
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                b,
            )),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return Ok(2);
            }
        },
        None => None,
    };
    let v = std::sync::Arc::new(v);
    let report = tokio::task::spawn_blocking(move || {
        v.validate(
            &input,
            det.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
            at,
        )
    })
    .await?;
    match report {
        Ok(mut r) => {
            r.document = file.file_name().map(|n| n.to_string_lossy().into_owned());
            match format {
                ReportFormat::Json => println!("{}", r.to_json()),
                ReportFormat::Text => print!("{}", r.to_text()),
                ReportFormat::EtsiXml => print!("{}", r.to_etsi_xml()),
            }
            Ok(if r.all_passed() { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            Ok(2)
        }
    }
}
