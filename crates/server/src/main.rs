//! `circles-server`: run the sync server, and administer its accounts.

use std::io::{IsTerminal, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use circles_core::TeamRole;
use circles_server::config::{Overrides, ServerConfig};
use circles_server::mail::admin::{MailCommand, MailServeArgs, MailSettings};
use circles_server::mail::{worker, Transport};
use circles_server::sms::{SmsOutlet, SmsServeArgs, SmsSettings, TwilioHttp};
use circles_server::throttle::SignInLimits;
use circles_server::{auth, ops, Database, Storage};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "circles-server", version, about = "The Circles sync server and its admin commands")]
struct Cli {
    /// A config file (TOML: database, listen, public_url, trust_proxy,
    /// sign_in_hashes, [mail]); the command line and environment override it.
    #[arg(long, global = true, env = "CIRCLES_SERVER_CONFIG")]
    config: Option<PathBuf>,
    /// The server's database: a SQLite file (a path or sqlite:PATH, created if
    /// missing) or PostgreSQL (postgres://USER@HOST:PORT/DB; migrated at start).
    /// [default: circles-server.sqlite]
    #[arg(long, global = true, env = "CIRCLES_SERVER_DB")]
    db: Option<String>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of `serve`'s flags costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the sync API.
    Serve {
        /// The address to listen on. [default: 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<String>,
        /// Behind a reverse proxy: throttle sign-ins by the client address in
        /// the last X-Forwarded-For entry (which the proxy must set), not by
        /// the connection's (the proxy's). Never without such a proxy: clients
        /// could then pick any address. `--trust-proxy=false` overrides the file.
        #[arg(long, env = "CIRCLES_SERVER_TRUST_PROXY", num_args = 0..=1, default_missing_value = "true",
              value_parser = clap::builder::BoolishValueParser::new())]
        trust_proxy: Option<bool>,
        /// Password checks run at once (argon2: ~19 MiB each); more sign-ins wait.
        /// Default: the number of cores.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
        sign_in_hashes: Option<u32>,
        #[command(flatten)]
        mail: MailServeArgs,
        #[command(flatten)]
        sms: SmsServeArgs,
        /// The newest version of the desktop app (e.g. 1.2.0): apps older than it
        /// show "A newer version of Circles is available" with --download-url.
        #[arg(long, env = "CIRCLES_SERVER_LATEST_APP_VERSION", requires = "download_url", value_name = "VERSION")]
        latest_app_version: Option<String>,
        /// Where people download that version (an http(s) address).
        #[arg(long, env = "CIRCLES_SERVER_DOWNLOAD_URL", requires = "latest_app_version", value_name = "URL")]
        download_url: Option<String>,
        /// Days a sign-in (a laptop's token) may go unused before it expires
        /// and the laptop must sign in again (1 to 3650). [default: 90]
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        token_idle_days: Option<u32>,
        /// Serve HTTPS with this certificate chain (a PEM file, e.g. Let's
        /// Encrypt's fullchain.pem); needs --tls-key.
        #[arg(long, value_name = "FILE", env = "CIRCLES_SERVER_TLS_CERT")]
        tls_cert: Option<String>,
        /// The certificate's private key (a PEM file, e.g. privkey.pem).
        #[arg(long, value_name = "FILE", env = "CIRCLES_SERVER_TLS_KEY")]
        tls_key: Option<String>,
    },
    /// The audit log: sign-ins and failed ones, tokens made, revoked and
    /// expired, password, account and role changes, learners erased.
    /// Newest first.
    Audit(ops::audit::AuditArgs),
    /// Copy the SQLite database, consistently, while the server runs (for
    /// PostgreSQL: prints the pg_dump way).
    Backup {
        /// The backup file to write.
        #[arg(long)]
        out: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Make a backup the database; only where there is none, or an empty one.
    Restore {
        /// A file written by `circles-server backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// Verify the database: integrity, seqs without gaps, field states equal
    /// to the log, row creators, references. Exits non-zero on any problem.
    Check,
    /// The mail outbox: send a test message, list messages, retry a failed one.
    #[command(subcommand)]
    Mail(MailCommand),
    /// First run: create the first account (an administrator, organizer of
    /// the first team) and that team. Refused once any account exists. The
    /// password is read from CIRCLES_PASSWORD or asked for (not echoed).
    Init {
        /// The administrator's email (they sign in with it).
        #[arg(long)]
        email: String,
        /// The administrator's name.
        #[arg(long)]
        name: String,
        /// The first team's name.
        #[arg(long)]
        team: String,
    },
    /// Accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Teams and their organizers.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Device tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The teams' retention periods (docs/privacy.md "Retention"): `serve`
    /// applies them at start and every 24 hours.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Learners' signed links (RSVP, withdraw, opt-out).
    #[command(subcommand)]
    Link(LinkCommand),
    /// Meeting reminders to learners (docs/deploy.md "Messages to
    /// learners"): `serve` queues the due ones every minute.
    #[command(subcommand)]
    Reminders(RemindersCommand),
    /// Copy a SQLite server database into a new, empty PostgreSQL database,
    /// then check both hold the same (row counts and digests of every table).
    MigrateDb {
        /// sqlite:PATH (or a plain path)
        #[arg(long)]
        from: String,
        /// postgres://...
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from stdin (or CIRCLES_PASSWORD). Prints the user id.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    List,
    /// Disable an account: it cannot sign in, and its tokens stop working at
    /// once (they are revoked: enabling the account does not bring them back).
    Disable {
        email: String,
    },
    /// Enable a disabled account: it may sign in again.
    Enable {
        email: String,
    },
    /// Set a new password (from CIRCLES_PASSWORD or asked for); the
    /// account's tokens are revoked: every device signs in again.
    ResetPassword {
        email: String,
    },
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Create a team; prints its id.
    Add { name: String },
    /// Make a user an organizer of a team (they see the team's circles).
    Organizer {
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
    },
    /// Add or remove a team's members.
    #[command(subcommand)]
    Member(TeamMemberCommand),
    /// List a team's members (team by id or exact name).
    Members { team: String },
    /// Print the address of a team's public page of upcoming circles (made
    /// the first time; the same afterwards). Add /embed for the version a
    /// library's website can put in an iframe.
    PublicLink { team: String },
}

#[derive(Subcommand)]
enum TeamMemberCommand {
    /// Put an account in a team (by id or exact name), as a member or an
    /// organizer; for someone already in it, set their role.
    Add {
        team: String,
        email: String,
        /// As an organizer: they see the team's circles.
        #[arg(long)]
        organizer: bool,
    },
    /// Take an account out of a team; the team's last organizer cannot be.
    Remove { team: String, email: String },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Apply them now: erase the learners of every circle that ended longer
    /// ago than its team's period; prints how many, per team.
    Run,
}

#[derive(Subcommand)]
enum LinkCommand {
    /// Print a learner's signed link (the one their messages carry), e.g.
    /// to send it by hand: `--purpose rsvp_yes|rsvp_no --meeting M`, or
    /// `withdraw|email_opt_out|sms_opt_out`.
    Make {
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        learner: String,
        #[arg(long)]
        meeting: Option<String>,
        /// The base of the link (else public_url of the config file).
        #[arg(long, env = "CIRCLES_PUBLIC_URL")]
        public_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum RemindersCommand {
    /// Queue the reminders due now (or at --now, e.g. to catch up after the
    /// server was down, or in a test); `serve`'s mail worker sends them.
    /// Each reminder is queued once, however often this runs.
    Run {
        /// The moment to take as now (RFC 3339, e.g. 2026-12-06T18:30:00Z).
        #[arg(long, value_parser = parse_instant)]
        now: Option<chrono::DateTime<chrono::Utc>>,
        /// The server's public address, for the links in reminders (else the
        /// config file's public_url).
        #[arg(long)]
        public_url: Option<String>,
    },
}

fn parse_instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("expected a moment such as 2026-12-06T18:30:00Z: {e}"))
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Tokens of one user, or of everyone.
    List {
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke a token: its device must sign in again.
    Revoke { id: String },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut overrides = Overrides { database: cli.db.clone(), ..Overrides::default() };
    if let Command::Serve {
        listen, trust_proxy, sign_in_hashes, mail, sms, token_idle_days, tls_cert, tls_key, ..
    } = &cli.command
    {
        overrides.sms_url = sms.sms_url.clone();
        overrides.sms_account = sms.sms_account.clone();
        overrides.sms_token = sms.sms_token.clone();
        overrides.sms_from = sms.sms_from.clone();
        overrides.token_idle_days = *token_idle_days;
        overrides.tls_cert = tls_cert.clone();
        overrides.tls_key = tls_key.clone();
        overrides.listen = listen.clone();
        overrides.trust_proxy = *trust_proxy;
        overrides.sign_in_hashes = *sign_in_hashes;
        overrides.public_url = mail.public_url.clone();
        overrides.mail_url = mail.mail_url.clone();
        overrides.mail_from = mail.mail_from.clone();
    }
    // Nothing starts on a bad config, or on bad mail settings.
    let config = ServerConfig::load(cli.config.as_deref(), overrides)?;
    let worker_config = match &cli.command {
        Command::Serve { mail, .. } => mail.worker(),
        _ => worker::WorkerConfig::default(),
    };
    let mail = match &cli.command {
        Command::Serve { mail, .. } => {
            let merged = MailServeArgs {
                mail_url: config.mail.url.clone(),
                mail_from: config.mail.from.clone(),
                public_url: config.public_url.clone(),
                ..mail.clone()
            };
            Some(merged.settings()?)
        }
        _ => None,
    };
    match &cli.command {
        Command::MigrateDb { from, to } => return migrate_db(from, to),
        Command::Backup { out, force } => {
            println!("{}", ops::backup::backup(&config.database, out, *force)?);
            return Ok(());
        }
        Command::Restore { from } => {
            println!("{}", ops::restore::restore(&config.database, from)?);
            return Ok(());
        }
        Command::Check => return check(&config.database),
        _ => {}
    }
    let db = &config.database;
    let storage = db.open().with_context(|| format!("cannot open the server database {}", db.describe()))?;
    match cli.command {
        Command::MigrateDb { .. } | Command::Backup { .. } | Command::Restore { .. } | Command::Check => {
            unreachable!("handled above")
        }
        Command::Serve { latest_app_version, download_url, .. } => {
            let defaults = SignInLimits::default();
            let concurrent_hashes = config.sign_in_hashes.map_or(defaults.concurrent_hashes, |n| n as usize);
            let release = match (latest_app_version, download_url) {
                (Some(version), Some(url)) => Some(
                    circles_core::sync::wire::AppRelease::new(&version, &url)
                        .context("--latest-app-version / --download-url")?,
                ),
                _ => None,
            };
            // A bad certificate or key stops the server before it listens.
            let tls = match &config.tls {
                Some(files) => Some(circles_server::tls::acceptor(&files.cert, &files.key)?),
                None => None,
            };
            storage.set_token_idle_days(config.token_idle_days);
            serve(
                storage,
                config.listen,
                tls,
                SignInLimits { trust_proxy: config.trust_proxy, concurrent_hashes, ..defaults },
                Outboxes { mail: mail.expect("checked above"), sms: config.sms.clone(), worker: worker_config },
                config.public_url.clone(),
                release,
            )
        }
        Command::Mail(command) => circles_server::mail::admin::run(storage.as_ref(), command),
        Command::Audit(args) => ops::audit::run(storage.as_ref(), args),
        Command::Init { email, name, team } => {
            let password = read_password()?;
            let (user, team_id) = storage.init(&email, &name, &auth::hash_password(&password)?, &team)?;
            println!("{user}");
            println!("{team_id}");
            eprintln!("created the account {email} (id {user}), organizer of the team {team} (id {team_id})");
            Ok(())
        }
        Command::User(UserCommand::Add { email, name }) => {
            let password = read_password()?;
            let id = storage.add_user(&email, &name, &auth::hash_password(&password)?)?;
            println!("{id}");
            Ok(())
        }
        Command::User(UserCommand::Disable { email }) => {
            storage.set_user_disabled(&email, true)?;
            println!("{email} is disabled: it cannot sign in, and its tokens were revoked");
            Ok(())
        }
        Command::User(UserCommand::Enable { email }) => {
            storage.set_user_disabled(&email, false)?;
            println!("{email} is enabled: it may sign in again");
            Ok(())
        }
        Command::User(UserCommand::ResetPassword { email }) => {
            let user = storage.user_by_email(&email)?.with_context(|| format!("no user with email {email}"))?;
            let password = read_password()?;
            let revoked = storage.set_password(&user.id, &auth::hash_password(&password)?, None)?;
            println!("{email} has a new password; {revoked} token(s) revoked: each device signs in again");
            Ok(())
        }
        Command::User(UserCommand::List) => {
            for user in storage.users()? {
                println!("{}  {}  {}", user.id, user.email, user.name);
            }
            Ok(())
        }
        Command::Team(TeamCommand::Add { name }) => {
            println!("{}", storage.add_team(&name)?);
            Ok(())
        }
        Command::Team(TeamCommand::Organizer { team, email }) => {
            let team_id = storage.find_team(&team)?;
            storage.add_organizer(&team_id, &email)?;
            println!("{email} now organizes team {team}");
            Ok(())
        }
        Command::Team(TeamCommand::Member(TeamMemberCommand::Add { team, email, organizer })) => {
            let team_id = storage.find_team(&team)?;
            let role = if organizer { TeamRole::Organizer } else { TeamRole::Member };
            storage.add_team_member(&team_id, &email, role)?;
            println!("{email} is now {} of team {team}", if organizer { "an organizer" } else { "a member" });
            Ok(())
        }
        Command::Team(TeamCommand::Member(TeamMemberCommand::Remove { team, email })) => {
            let team_id = storage.find_team(&team)?;
            storage.remove_team_member(&team_id, &email)?;
            println!("{email} is no longer in team {team}");
            Ok(())
        }
        Command::Team(TeamCommand::PublicLink { team }) => {
            let team_id = storage.find_team(&team)?;
            let slug = storage.public_team_slug(&team_id)?;
            match config.public_url.as_deref() {
                Some(base) => println!("{}/teams/{slug}", base.trim_end_matches('/')),
                None => {
                    println!("/teams/{slug}");
                    eprintln!("(set public_url in the config file to print the whole address)");
                }
            }
            Ok(())
        }
        Command::Team(TeamCommand::Members { team }) => {
            let team_id = storage.find_team(&team)?;
            for m in storage.team_member_list(&team_id)? {
                println!("{}  {}  {}  {}", m.user_id, m.email, m.role, m.name);
            }
            Ok(())
        }
        Command::Token(TokenCommand::List { email }) => {
            let user_id = match email {
                Some(email) => {
                    Some(storage.user_by_email(&email)?.with_context(|| format!("no user with email {email}"))?.id)
                }
                None => None,
            };
            for t in storage.tokens(user_id.as_deref())? {
                let state = if t.revoked { "revoked" } else { "active" };
                println!("{}  {}  {}  {}  {state}", t.id, t.user_email, t.device_name, t.created_at);
            }
            Ok(())
        }
        Command::Reminders(RemindersCommand::Run { now, public_url }) => {
            let Some(base) = public_url.or(config.public_url.clone()) else {
                bail!(
                    "reminders carry links back to this server: give --public-url (or public_url in the config file)"
                );
            };
            circles_server::config::check_public_url(&base)
                .map_err(|problem| anyhow::anyhow!("--public-url: {problem}"))?;
            storage.set_learner_mail(learner_mail(base, config.sms.is_some()));
            let queued = storage.send_due_reminders(now.unwrap_or_else(chrono::Utc::now))?;
            println!("{queued} reminder(s) queued");
            Ok(())
        }
        Command::Retention(RetentionCommand::Run) => {
            let teams = storage.apply_retention(chrono::Utc::now())?;
            if teams.is_empty() {
                println!("no team has a retention period: nothing to do");
                return Ok(());
            }
            for t in &teams {
                println!("{}  {}  {} days  {} learner(s) anonymized", t.team_id, t.team_name, t.days, t.anonymized);
            }
            let total: usize = teams.iter().map(|t| t.anonymized).sum();
            println!("{total} learner(s) anonymized in {} team(s) with a retention period", teams.len());
            Ok(())
        }
        Command::Link(LinkCommand::Make { purpose, learner, meeting, public_url }) => {
            let Some(purpose) = circles_server::protocol::links::Purpose::parse(&purpose) else {
                bail!("unknown purpose {purpose}: one of rsvp_yes, rsvp_no, withdraw, email_opt_out, sms_opt_out");
            };
            if let Some(url) = &public_url {
                circles_server::config::check_public_url(url)
                    .map_err(|problem| anyhow::anyhow!("--public-url {url} {problem}"))?;
            }
            let Some(base) = public_url.as_deref().or(config.public_url.as_deref()) else {
                bail!("set --public-url (or public_url in the config file): links are made under it");
            };
            let url = storage.make_learner_link(base, purpose, &learner, meeting.as_deref(), chrono::Utc::now())?;
            println!("{url}");
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            if !storage.revoke_token(&id, None)? {
                bail!("no token with id {id}");
            }
            println!("token {id} revoked");
            Ok(())
        }
    }
}

/// A new password: CIRCLES_PASSWORD, else asked for on a terminal (not
/// echoed), else all of stdin (one line, for scripts).
fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("CIRCLES_PASSWORD") {
        if !p.is_empty() {
            return Ok(p);
        }
    }
    let stdin = std::io::stdin();
    let mut p = String::new();
    if stdin.is_terminal() {
        eprint!("Password (at least {} characters): ", auth::MIN_PASSWORD_CHARS);
        let echo = EchoOff::new();
        stdin.read_line(&mut p).context("cannot read the password")?;
        drop(echo);
        eprintln!();
    } else {
        stdin.lock().read_to_string(&mut p).context("cannot read the password from stdin")?;
    }
    Ok(p.trim_end_matches(['\n', '\r']).to_string())
}

/// The terminal's echo off while it lives (`stty`, where there is one).
struct EchoOff(bool);

impl EchoOff {
    fn new() -> EchoOff {
        EchoOff(std::process::Command::new("stty").arg("-echo").status().is_ok_and(|s| s.success()))
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if self.0 {
            let _ = std::process::Command::new("stty").arg("echo").status();
        }
    }
}

fn migrate_db(from: &str, to: &str) -> Result<()> {
    let Database::Sqlite(from) = Database::parse(from) else {
        bail!("--from must be a SQLite database (sqlite:PATH), not {from}");
    };
    let Database::Postgres(to) = Database::parse(to) else {
        bail!("--to must be a PostgreSQL database (postgres://...), not {to}");
    };
    let checks = circles_server::migrate::sqlite_to_postgres(&from, &to)
        .with_context(|| format!("cannot migrate {} to PostgreSQL", from.display()))?;
    for c in &checks {
        println!("{:<16} {:>9} rows  sha256 {}", c.table, c.rows, c.digest);
    }
    println!("migrated and verified: both databases hold the same {} tables", checks.len());
    Ok(())
}

fn check(db: &Database) -> Result<()> {
    let lines = ops::check::check_database(db)?;
    for line in &lines {
        println!("{line}");
    }
    let failed = lines.iter().filter(|l| l.is_problem()).count();
    if failed > 0 {
        bail!("{failed} of {} checks found problems in {}", lines.len(), db.describe());
    }
    println!("{} is consistent", db.describe());
    Ok(())
}

/// What `serve` sends: mail (None: off), SMS (None: off), and how the
/// outbox workers go about it.
struct Outboxes {
    mail: Option<MailSettings>,
    sms: Option<SmsSettings>,
    worker: worker::WorkerConfig,
}

fn serve(
    storage: Arc<dyn Storage>,
    listen: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    sign_in: SignInLimits,
    outboxes: Outboxes,
    public_url: Option<String>,
    release: Option<circles_core::sync::wire::AppRelease>,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // The last reference is dropped here, outside the runtime: PostgreSQL's
    // blocking client owns a small runtime of its own, which may not be
    // dropped from async code.
    let served = storage.clone();
    let result = runtime.block_on(async move {
        let storage = served;
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        // Tests and scripts read this line to find a port chosen by the OS.
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("listening on {scheme}://{address}");
        tracing::info!(%address, "circles-server started");
        let state = circles_server::AppState::with_sign_in_limits(storage.clone(), sign_in).with_app_release(release);
        let mut state = state;
        // A waiting learner's place mail links to the circle's page: at the
        // public address, else at the address this server listens on.
        let base = public_url.clone().unwrap_or_else(|| format!("{scheme}://{address}"));
        storage.set_learner_mail(learner_mail(base.clone(), outboxes.sms.is_some()));
        storage.set_place_mail(Box::new(move |circle, learner| {
            circles_server::pages::mail::place(circle, learner, &format!("{base}/circles/{}", circle.slug))
        }));
        state.public_url = public_url;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let retention = spawn_retention(storage.clone(), stopped.clone());
        let mut workers = Vec::new();
        let reminders = spawn_reminders(storage.clone(), state.mail.wake_handle(), stopped.clone());
        match outboxes.mail {
            Some(mail) => {
                let send_timeout = mail.worker.send_timeout;
                let transport = Transport::new(&mail.url, &mail.from, send_timeout / 2).context("--mail-url")?;
                tracing::info!(to = transport.describe(), "mail is on");
                let wake = state.mail.wake_handle();
                let outlet: Arc<dyn worker::Outlet> = Arc::new(transport);
                workers
                    .push((worker::spawn(storage.clone(), outlet, mail.worker, wake, stopped.clone()), send_timeout));
            }
            None => {
                tracing::warn!("mail is off (no --mail-url): messages wait in the outbox (circles-server mail list)");
            }
        }
        match outboxes.sms {
            Some(sms) => {
                let config = outboxes.worker;
                let provider = TwilioHttp::new(&sms.url, &sms.account, &sms.token, &sms.from, config.send_timeout / 2)
                    .context("--sms-url")?;
                let outlet: Arc<dyn worker::Outlet> = Arc::new(SmsOutlet(Arc::new(provider)));
                tracing::info!(to = outlet.describe(), "SMS is on");
                state.sms = circles_server::sms::SmsSender::on(storage.clone(), sms);
                let wake = state.sms.wake_handle();
                workers
                    .push((worker::spawn(storage.clone(), outlet, config.clone(), wake, stopped), config.send_timeout));
            }
            None => tracing::info!("SMS is off (no --sms-url): text messages are not sent nor kept"),
        }
        let shutdown = async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        };
        match tls {
            Some(acceptor) => circles_server::serve_tls(listener, acceptor, state, shutdown).await?,
            None => circles_server::serve_state(listener, state, shutdown).await?,
        }
        // A run under way finishes its transaction; the loop stops.
        let _ = retention.await;
        let _ = reminders.await;
        for (worker, send_timeout) in workers {
            // The message in flight is finished, the rest given back.
            let abort = worker.abort_handle();
            if tokio::time::timeout(send_timeout + Duration::from_secs(5), worker).await.is_err() {
                abort.abort();
            }
        }
        tracing::info!("circles-server stopped");
        Ok(())
    });
    drop(runtime);
    drop(storage);
    result
}

/// How this process mails learners (`protocol/learner_mail.rs`): links at
/// `base`, words from `pages/learner_mail.rs`; texts too with `sms`.
fn learner_mail(base: String, sms: bool) -> circles_server::protocol::learner_mail::LearnerMail {
    use circles_server::pages::learner_mail::{learner_message, learner_sms};
    circles_server::protocol::learner_mail::LearnerMail {
        base_url: base,
        compose: Box::new(learner_message),
        sms: sms.then(|| Box::new(learner_sms) as circles_server::protocol::learner_mail::ComposeLearnerSms),
    }
}

/// How often `serve` looks for reminders that are due.
const REMINDERS_EVERY: Duration = Duration::from_secs(60);

/// Meeting reminders (`protocol/learner_mail.rs`): every minute the due
/// ones are queued (once each) and the mail worker woken.
fn spawn_reminders(
    storage: Arc<dyn Storage>,
    wake: Arc<tokio::sync::Notify>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let run = storage.clone();
            match tokio::task::spawn_blocking(move || run.send_due_reminders(chrono::Utc::now())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(_)) => wake.notify_one(),
                Ok(Err(e)) => tracing::warn!(error = %e, "the reminders run failed; trying again in a minute"),
                Err(e) => tracing::warn!(error = %e, "the reminders run stopped; trying again in a minute"),
            }
            tokio::select! {
                _ = tokio::time::sleep(REMINDERS_EVERY) => {}
                _ = stopped.changed() => return,
            }
        }
    })
}

/// How often `serve` applies the teams' retention periods.
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// The daily retention run (`protocol/retention.rs`), beside the mail
/// worker: once at start, then every 24 hours, until the server stops. A
/// failed run is logged and tried again the next day (or by `circles-server
/// retention run`).
fn spawn_retention(
    storage: Arc<dyn Storage>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let run = storage.clone();
            match tokio::task::spawn_blocking(move || run.apply_retention(chrono::Utc::now())).await {
                Ok(Ok(teams)) => {
                    let anonymized: usize = teams.iter().map(|t| t.anonymized).sum();
                    tracing::info!(teams = teams.len(), anonymized, "retention run done");
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "the retention run failed; trying again in 24 hours"),
                Err(e) => tracing::warn!(error = %e, "the retention run stopped; trying again in 24 hours"),
            }
            tokio::select! {
                _ = tokio::time::sleep(RETENTION_EVERY) => {}
                _ = stopped.changed() => return,
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
