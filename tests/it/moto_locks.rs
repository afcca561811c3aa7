//! The action lock in a DynamoDB table of a local moto server, over the real SDK.
//!
//! The ops run on the fake ECS, ELB and nodes of the `ops` tests, with the team's lock
//! and audit group in moto: two consoles (processes: this test binary started twice)
//! racing for one service, a console killed mid-op whose lease is taken over after it
//! ends, a renewal refused under a running op, a table that is not there, audit lines
//! that wait for an unreachable group. Each test names its own table in the shared
//! server (the unreachable group has a server of its own).

use crate::ops::Harness;
use crate::support::moto::{self, Moto, sdk_config};

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use ibet_console::backend::aws::locks::DynamoLocks;
use ibet_console::backend::lock::{LockError, LockRecord, LockStore, MemoryLocks};
use ibet_console::clock::EpochMs;
use ibet_console::ops::{Approval, Op, Outcome, Readiness};
use tokio::sync::Notify;

/// The harness clock's time; both racing processes use it, so leases compare alike.
const NOW: EpochMs = 1_800_000_000_000;
const NOW_SECS: i64 = 1_800_000_000;

fn deploy_api() -> Op {
    Op::ForceDeploy {
        env: "staging".into(),
        cluster: "node-api".into(),
        service: "api".into(),
    }
}

fn client(url: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(url))
}

/// Creates a lock table as the README says to.
async fn create_table(url: &str, name: &str) {
    client(url)
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("lock_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("lock_id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
}

/// Puts a lock item as another console would have left it.
async fn put_lock(url: &str, table: &str, record: &LockRecord) {
    client(url)
        .put_item()
        .table_name(table)
        .item("lock_id", AttributeValue::S(record.lock_id.clone()))
        .item("owner", AttributeValue::S(record.owner.clone()))
        .item("caller_arn", AttributeValue::S(record.caller_arn.clone()))
        .item("action", AttributeValue::S(record.action.clone()))
        .item("since", AttributeValue::N(record.since.to_string()))
        .item(
            "expires_at",
            AttributeValue::N(record.expires_at.to_string()),
        )
        .item("token", AttributeValue::S(record.token.clone()))
        .send()
        .await
        .expect("put item");
}

fn store(url: &str, table: &str) -> Arc<dyn LockStore> {
    Arc::new(DynamoLocks::new(&sdk_config(url), table, None))
}

fn dead_console(expires_at: i64) -> LockRecord {
    LockRecord {
        lock_id: "staging/node-api/api".into(),
        owner: "carol@bastion-3".into(),
        caller_arn: "arn:aws:sts::123456789012:assumed-role/ops/carol".into(),
        action: "force a new deployment of staging/node-api/api".into(),
        since: NOW_SECS - 300,
        expires_at,
        token: "carol-run".into(),
    }
}

/// One racing console: `rounds` times, at `start + round * period` (wall clock, epoch
/// ms), plans and executes a forced deployment of api under the table's lock; a run
/// that gets the lock holds its call for `hold_ms`. Writes `ROUND OUTCOME ERROR` lines.
/// Started by [`two_consoles_race_for_one_service_fifty_times`] with its settings in
/// the environment.
#[tokio::test]
#[ignore = "one of the racing consoles; started by two_consoles_race_for_one_service_fifty_times"]
async fn racing_console() {
    let var = |k: &str| std::env::var(k).expect(k);
    let (url, table, user) = (var("RACE_URL"), var("RACE_TABLE"), var("RACE_USER"));
    let number = |k: &str| var(k).parse::<u64>().expect(k);
    let (rounds, start, period, hold_ms) = (
        number("RACE_ROUNDS"),
        number("RACE_START"),
        number("RACE_PERIOD"),
        number("RACE_HOLD_MS"),
    );
    let mut out = std::fs::OpenOptions::new()
        .append(true)
        .open(var("RACE_OUT"))
        .expect("out");
    let locks = store(&url, &table);
    for round in 0..rounds {
        let h = Harness::with_locks("staging", true, Arc::clone(&locks), &user, NOW);
        let at = start + round * period;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_millis() as u64;
        tokio::time::sleep(Duration::from_millis(at.saturating_sub(now))).await;
        let plan = h.plan(&deploy_api()).await;
        let hold = Arc::new(Notify::new());
        *h.fake.hold.lock().expect("hold") = Some(Arc::clone(&hold));
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(hold_ms)).await;
            hold.notify_one();
        });
        // The other console's lock, seen when planning, refuses as the executor would.
        let report = if plan.readiness == Readiness::Blocked {
            let reason = plan
                .failed_checks()
                .map(|c| format!("another console holds the lock: {}", c.value))
                .collect::<Vec<_>>()
                .join("; ");
            h.executor.refuse_plan(&plan, &h.ctx, reason).await
        } else {
            h.execute(&plan, &Approval::yes()).await
        };
        release.abort();
        let line = format!(
            "{round} {user} {:?} {} {}\n",
            report.outcome,
            h.fake.count("update_service"),
            report.error.unwrap_or_default().replace('\n', " ")
        );
        out.write_all(line.as_bytes()).expect("write");
    }
}

#[tokio::test]
async fn two_consoles_race_for_one_service_fifty_times() {
    let url = Moto::shared().url();
    let table = moto::unique("race-locks");
    create_table(&url, &table).await;
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("race.txt");
    std::fs::write(&out, "").expect("out");
    let rounds = 50_u64;
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis() as u64
        + 4_000;
    let exe = std::env::current_exe().expect("test binary");
    let spawn = |user: &str| {
        std::process::Command::new(&exe)
            .args([
                "--exact",
                "moto_locks::racing_console",
                "--ignored",
                "--test-threads",
                "1",
            ])
            .env("RACE_URL", &url)
            .env("RACE_TABLE", &table)
            .env("RACE_USER", user)
            .env("RACE_ROUNDS", rounds.to_string())
            .env("RACE_START", start.to_string())
            .env("RACE_PERIOD", "600")
            .env("RACE_HOLD_MS", "300")
            .env("RACE_OUT", &out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start a racing console")
    };
    let (mut alice, mut bob) = (spawn("alice"), spawn("bob"));
    let ok = |child: &mut std::process::Child| child.wait().expect("wait").success();
    assert!(ok(&mut alice) && ok(&mut bob), "a racing console failed");
    let text = std::fs::read_to_string(&out).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 100, "{text}");
    for round in 0..rounds {
        let of_round: Vec<&str> = lines
            .iter()
            .filter(|l| l.split(' ').next() == Some(&round.to_string()))
            .copied()
            .collect();
        let executed = of_round.iter().filter(|l| l.contains(" Ok 1")).count();
        assert_eq!(executed, 1, "round {round}: {of_round:?}");
        let refused = of_round
            .iter()
            .find(|l| !l.contains(" Ok 1"))
            .expect("the other one");
        assert!(
            refused.contains(" Refused 0 another console holds the lock: held by"),
            "round {round}: {refused}"
        );
        // The holder named is the other console.
        let holder = if refused.contains(" alice ") {
            "held by bob@"
        } else {
            "held by alice@"
        };
        assert!(refused.contains(holder), "round {round}: {refused}");
    }
    // Every lock was given back.
    let left = store(&url, &table).list("").await.expect("list");
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_dead_consoles_lock_refuses_until_its_lease_ends_then_is_taken_over() {
    let url = Moto::shared().url();
    let table = moto::unique("expired-locks");
    create_table(&url, &table).await;

    // Alive: its lease ends in a minute.
    put_lock(&url, &table, &dead_console(NOW_SECS + 60)).await;
    let h = Harness::with_locks("staging", true, store(&url, &table), "alice", NOW);
    let plan = h.plan(&deploy_api()).await;
    assert_eq!(plan.readiness, Readiness::Blocked);
    let lock = plan.checks.iter().find(|c| c.name == "lock").expect("lock");
    assert!(
        lock.value.starts_with(
            "held by carol@bastion-3: force a new deployment of staging/node-api/api, since 5m ago"
        ),
        "{}",
        lock.value
    );

    // Its lease ran out (the console died): taken over, the op runs, the lock is freed.
    put_lock(&url, &table, &dead_console(NOW_SECS - 1)).await;
    let plan = h.plan(&deploy_api()).await;
    assert_eq!(plan.readiness, Readiness::Ready, "{:?}", plan.checks);
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert_eq!(h.fake.count("update_service"), 1);
    assert!(store(&url, &table).list("").await.expect("list").is_empty());
}

/// The table, but the item is changed under the run right before its renewal.
struct ChangedUnderIt {
    table: DynamoLocks,
    url: String,
    name: String,
}

#[async_trait]
impl LockStore for ChangedUnderIt {
    fn place(&self) -> String {
        self.table.place()
    }
    fn shared(&self) -> bool {
        true
    }
    async fn acquire(&self, record: &LockRecord, now: i64) -> Result<(), LockError> {
        self.table.acquire(record, now).await
    }
    async fn renew(&self, record: &LockRecord, expires_at: i64) -> Result<(), LockError> {
        // Broken and taken by carol meanwhile.
        put_lock(&self.url, &self.name, &dead_console(NOW_SECS + 600)).await;
        self.table.renew(record, expires_at).await
    }
    async fn release(&self, record: &LockRecord) -> Result<(), LockError> {
        self.table.release(record).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<LockRecord>, LockError> {
        self.table.list(prefix).await
    }
    async fn break_lock(&self, lock_id: &str) -> Result<Option<LockRecord>, LockError> {
        self.table.break_lock(lock_id).await
    }
}

#[tokio::test]
async fn a_refused_renewal_stops_the_op_before_its_call() {
    let url = Moto::shared().url();
    let name = moto::unique("renewal-locks");
    create_table(&url, &name).await;
    let locks = Arc::new(ChangedUnderIt {
        table: DynamoLocks::new(&sdk_config(&url), &name, None),
        url: url.clone(),
        name: name.clone(),
    });
    let h = Harness::with_locks("staging", true, locks, "alice", NOW);
    let plan = h.plan(&deploy_api()).await;
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Refused, "{report:?}");
    assert_eq!(report.exit_code(), 3);
    let error = report.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("the lock's renewal failed")
            && error.contains("carol@bastion-3")
            && error.contains("stopped before the call, nothing was done"),
        "{error}"
    );
    assert_eq!(h.fake.count("update_service"), 0);
    assert_eq!(
        h.phases(),
        [
            ("before".into(), None),
            ("after".into(), Some("refused".into()))
        ]
    );
    // Carol's lock is carol's: not released by the stopped run.
    let left = store(&url, &name).list("").await.expect("list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].owner, "carol@bastion-3");
}

#[tokio::test]
async fn a_missing_table_names_the_table_and_changes_nothing() {
    let url = Moto::shared().url();
    let h = Harness::with_locks(
        "staging",
        true,
        store(&url, "no-such-lock-table"),
        "alice",
        NOW,
    );
    let plan = h.plan(&deploy_api()).await;
    assert_eq!(plan.readiness, Readiness::Blocked);
    let lock = plan.checks.iter().find(|c| c.name == "lock").expect("lock");
    assert!(
        lock.value.contains("DynamoDB table `no-such-lock-table`"),
        "{}",
        lock.value
    );
    let hint = lock.detail.as_deref().unwrap_or_default();
    assert!(
        hint.contains("create DynamoDB table `no-such-lock-table`"),
        "{hint}"
    );

    // The executor refuses too, by itself: its conditional write finds no table.
    let ready = Harness::with_locks(
        "staging",
        true,
        Arc::new(MemoryLocks::default()),
        "alice",
        NOW,
    )
    .plan(&deploy_api())
    .await;
    let report = h.execute(&ready, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Refused);
    let error = report.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("no-such-lock-table") && error.contains("nothing was done"),
        "{error}"
    );
    assert!(
        report
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("create DynamoDB table"),
        "{report:?}"
    );
    assert_eq!(h.fake.count("update_service"), 0);
    assert_eq!(h.phases(), [("after".into(), Some("refused".into()))]);
}

/// The mean time of `runs` forced deployments on the fakes with `locks`.
async fn timed(locks: Arc<dyn LockStore>, runs: u32) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        let h = Harness::with_locks("staging", true, Arc::clone(&locks), "alice", NOW);
        let plan = h.plan(&deploy_api()).await;
        let started = Instant::now();
        let report = h.execute(&plan, &Approval::yes()).await;
        total += started.elapsed();
        assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    }
    total / runs
}

/// Added time of an op for its lock (taken, renewed once, released) against moto, and
/// its requests: printed for the README, held to the 100 ms the design allows.
#[tokio::test]
async fn the_lock_adds_little_to_an_op() {
    let url = Moto::shared().url();
    let table = moto::unique("timed-locks");
    create_table(&url, &table).await;
    // Warm moto's DynamoDB first.
    let _ = store(&url, &table).list("").await;
    let memory = timed(Arc::new(MemoryLocks::default()), 10).await;
    let dynamo = timed(store(&url, &table), 10).await;
    let added = dynamo.saturating_sub(memory);
    eprintln!(
        "an op takes {memory:?} with an in-memory lock and {dynamo:?} with the table: {added:?} added"
    );
    assert!(added < Duration::from_millis(100), "{added:?}");
}

/// Every event of `group`, as the shared audit's reader takes them.
async fn shared_lines(url: &str, group: &str) -> Vec<ibet_console::ops::audit::AuditEntry> {
    let page = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(url))
        .filter_log_events()
        .log_group_name(group)
        .start_time(0)
        .send()
        .await
        .expect("filter");
    let messages: Vec<String> = page
        .events()
        .iter()
        .filter_map(|e| e.message().map(str::to_string))
        .collect();
    ibet_console::ops::shared_audit::read_lines(messages.iter().map(String::as_str))
}

async fn create_group(url: &str, group: &str) {
    aws_sdk_cloudwatchlogs::Client::new(&sdk_config(url))
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("create group");
}

#[tokio::test]
async fn audit_lines_wait_for_an_unreachable_group_and_arrive_once() {
    let mut moto = Moto::start();
    let group = "/ibet-console/audit";
    create_group(&moto.url(), group).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis() as EpochMs;
    let mut h = Harness::with_locks(
        "staging",
        true,
        Arc::new(MemoryLocks::default()),
        "alice",
        now,
    );
    h.ctx.backends.logs = Arc::new(ibet_console::backend::aws::logs::AwsLogs::new(
        &moto::patient_sdk_config(&moto.url(), Duration::from_secs(2)),
        None,
    ));
    h.ctx.environment.team.audit_log_group = Some(group.into());

    // The group cannot be reached: the op runs, its lines are in the local file and
    // queued, and the report says so.
    moto.stop();
    let plan = h.plan(&deploy_api()).await;
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    let hint = report.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("the shared audit group /ibet-console/audit did not take the line")
            && hint.contains("2 lines queued"),
        "{hint}"
    );
    assert_eq!(h.phases().len(), 2);

    // Reachable again: the next op's lines go after the queued ones.
    moto.restart();
    create_group(&moto.url(), group).await;
    let plan = h.plan(&deploy_api()).await;
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert!(report.hint.is_none(), "{report:?}");
    let shared = shared_lines(&moto.url(), group).await;
    let local = h.audit();
    assert_eq!(shared.len(), 4, "{shared:?}");
    let ids: Vec<&str> = local.iter().filter_map(|l| l["id"].as_str()).collect();
    for entry in &shared {
        assert!(
            ids.contains(&entry.id.as_str()),
            "{} not in {ids:?}",
            entry.id
        );
    }

    // A line sent twice (a console that died before emptying its queue) is read once.
    let again = serde_json::to_string(&shared[0]).expect("json");
    aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&moto.url()))
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(ibet_console::ops::shared_audit::stream_name(
            &shared[0].host,
            &shared[0].os_user,
        ))
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now)
                .message(again)
                .build()
                .expect("event"),
        )
        .send()
        .await
        .expect("sent again");
    assert_eq!(shared_lines(&moto.url(), group).await.len(), 4);
}

/// A console that takes the lock, writes its "before" line to the shared group, and
/// hangs in its call until killed. Started by [`a_killed_console_leaves_its_lock_to_expire_and_its_before_line_shared`].
#[tokio::test]
#[ignore = "the console killed mid-op; started by a_killed_console_leaves_its_lock_to_expire_and_its_before_line_shared"]
async fn console_killed_mid_op() {
    let var = |k: &str| std::env::var(k).expect(k);
    let (url, table, group) = (var("HELD_URL"), var("HELD_TABLE"), var("HELD_GROUP"));
    let now: EpochMs = var("HELD_NOW").parse().expect("now");
    let mut h = Harness::with_locks("staging", true, store(&url, &table), "dave", now);
    h.ctx.backends.logs = Arc::new(ibet_console::backend::aws::logs::AwsLogs::new(
        &sdk_config(&url),
        None,
    ));
    h.ctx.environment.team.audit_log_group = Some(group);
    // The call never returns: the process is killed in it.
    *h.fake.hold.lock().expect("hold") = Some(Arc::new(Notify::new()));
    let plan = h.plan(&deploy_api()).await;
    let _ = h.execute(&plan, &Approval::yes()).await;
}

#[tokio::test]
async fn a_killed_console_leaves_its_lock_to_expire_and_its_before_line_shared() {
    let url = Moto::shared().url();
    let table = moto::unique("killed-locks");
    let group = format!("/ibet-console/{}", moto::unique("killed-audit"));
    create_table(&url, &table).await;
    create_group(&url, &group).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis() as EpochMs;
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "moto_locks::console_killed_mid_op", "--ignored"])
        .env("HELD_URL", &url)
        .env("HELD_TABLE", &table)
        .env("HELD_GROUP", &group)
        .env("HELD_NOW", now.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the console");
    // Its "before" line reaches the group before the call it hangs in.
    let deadline = Instant::now() + Duration::from_secs(30);
    let before = loop {
        let lines = shared_lines(&url, &group).await;
        if let Some(line) = lines.into_iter().find(|l| l.os_user == "dave") {
            break line;
        }
        assert!(Instant::now() < deadline, "no before line in the group");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(before.phase, ibet_console::ops::audit::Phase::Before);
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    // Its lock stays: another console is refused, naming dave, until the lease ends.
    let alive = Harness::with_locks("staging", true, store(&url, &table), "erin", now + 5_000);
    let plan = alive.plan(&deploy_api()).await;
    assert_eq!(plan.readiness, Readiness::Blocked);
    let lock = plan.checks.iter().find(|c| c.name == "lock").expect("lock");
    assert!(lock.value.starts_with("held by dave@"), "{}", lock.value);

    // After the lease (120 s): taken over, and the op runs.
    let later = Harness::with_locks("staging", true, store(&url, &table), "erin", now + 121_000);
    let plan = later.plan(&deploy_api()).await;
    assert_eq!(plan.readiness, Readiness::Ready, "{:?}", plan.checks);
    let report = later.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert!(store(&url, &table).list("").await.expect("list").is_empty());
}
