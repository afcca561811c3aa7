//! Verifying a release before it runs: what the target task definition names outside
//! ECS must exist, or the release would half-fail (tasks that cannot pull their image,
//! read their secrets or take their role, while the old ones drain).
//!
//! [`verify_target`] adds one check per container image ([`CHECK_IMAGE`]: the image in
//! ECR, by tag or digest; an image outside ECR is "not checked"), one for all the
//! secrets the containers name ([`CHECK_SECRETS`]: SSM parameters and Secrets Manager
//! secrets, by name; never a value), and one per role ([`CHECK_TASK_ROLE`],
//! [`CHECK_EXECUTION_ROLE`]). A read that fails (access denied above all) is that check
//! failing with the error, which names the permission. Every one of these checks is
//! overridable: the plan then needs the explicit override, which takes a second
//! confirmation and is audited as one ([`super::Approval::override_gate`]).
//!
//! The parsing of image URIs and `valueFrom` references is pure and tested here; the
//! reads go through [`crate::backend::VerifyApi`], so the demo world answers them too.
//! Nothing here changes anything.

use futures_util::future::join_all;

use super::{Check, OpContext, Plan};
use crate::backend::{BackendError, EcrImage, ImageReference, Lookup};
use crate::model::ecs::TaskDefinition;

/// Check name: a container's image exists in ECR.
pub const CHECK_IMAGE: &str = "image";
/// Check name: every secret the containers name exists.
pub const CHECK_SECRETS: &str = "secrets";
/// Check name: the task role exists.
pub const CHECK_TASK_ROLE: &str = "task_role";
/// Check name: the task execution role exists.
pub const CHECK_EXECUTION_ROLE: &str = "execution_role";

/// The ECR image an image URI names: `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG]`
/// or `…/REPO@sha256:…`; a URI without tag or digest is the tag `latest`. `None` for an
/// image outside ECR (Docker Hub, `public.ecr.aws`, another registry).
pub fn ecr_image(image: &str) -> Option<EcrImage> {
    let (host, path) = image.split_once('/')?;
    let mut labels = host.split('.');
    let (account, dkr, ecr, region) = (
        labels.next()?,
        labels.next()?,
        labels.next()?,
        labels.next()?,
    );
    let domain: Vec<&str> = labels.collect();
    let is_ecr = account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && dkr == "dkr"
        && ecr == "ecr"
        && !region.is_empty()
        && domain.first() == Some(&"amazonaws");
    if !is_ecr || path.is_empty() {
        return None;
    }
    let (repository, reference) = match path.split_once('@') {
        Some((repository, digest)) => (repository, ImageReference::Digest(digest.to_string())),
        None => match path.rsplit_once(':') {
            Some((repository, tag)) => (repository, ImageReference::Tag(tag.to_string())),
            None => (path, ImageReference::Tag("latest".to_string())),
        },
    };
    Some(EcrImage {
        registry: account.to_string(),
        region: region.to_string(),
        repository: repository.to_string(),
        reference,
    })
}

/// `repository:tag` or `repository@digest`, without the registry.
fn short_image(image: &EcrImage) -> String {
    match &image.reference {
        ImageReference::Tag(tag) => format!("{}:{tag}", image.repository),
        ImageReference::Digest(digest) => format!("{}@{digest}", image.repository),
    }
}

/// Where a secret's `valueFrom` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An SSM parameter: the names it may have (an ARN's `parameter/db` is the name `db`
    /// or `/db`), and the region and account of an ARN.
    Parameter {
        /// The candidate names, the likelier first.
        names: Vec<String>,
        /// The ARN's region, when it is an ARN.
        region: Option<String>,
        /// The ARN's account, when it is an ARN.
        account: Option<String>,
    },
    /// A Secrets Manager secret: its ARN without the JSON key, stage and version suffix.
    Secret {
        /// The secret's ARN as DescribeSecret takes it.
        id: String,
        /// The ARN's region.
        region: String,
    },
    /// Something else (another service's ARN): not checked.
    Other,
}

/// Reads a secret's `valueFrom`: an SSM parameter ARN or name, or a Secrets Manager
/// ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef[:KEY:STAGE:VERSION]`).
pub fn secret_source(value_from: &str) -> SecretSource {
    let Some(rest) = value_from.strip_prefix("arn:") else {
        let name = value_from.to_string();
        return SecretSource::Parameter {
            names: vec![name],
            region: None,
            account: None,
        };
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [_, service, region, account, resource] = parts.as_slice() else {
        return SecretSource::Other;
    };
    match *service {
        "ssm" => {
            let Some(path) = resource.strip_prefix("parameter") else {
                return SecretSource::Other;
            };
            // `parameter/a/b` is `/a/b`; `parameter/db` is `db`, or `/db`.
            let names = if path.trim_start_matches('/').contains('/') {
                vec![path.to_string()]
            } else {
                let bare = path.trim_start_matches('/');
                vec![bare.to_string(), format!("/{bare}")]
            };
            SecretSource::Parameter {
                names,
                region: Some((*region).to_string()),
                account: Some((*account).to_string()),
            }
        }
        "secretsmanager" => {
            let secret: Vec<&str> = resource.splitn(3, ':').collect();
            match secret.as_slice() {
                ["secret", name, ..] => SecretSource::Secret {
                    id: format!(
                        "arn:{}:{service}:{region}:{account}:secret:{name}",
                        parts[0]
                    ),
                    region: (*region).to_string(),
                },
                _ => SecretSource::Other,
            }
        }
        _ => SecretSource::Other,
    }
}

/// The role name of a role ARN (`arn:aws:iam::1:role/path/NAME`), or the name given.
pub fn role_name(role: &str) -> &str {
    if role.starts_with("arn:") {
        role.rsplit_once('/').map_or(role, |(_, name)| name)
    } else {
        role
    }
}

/// The account of a caller ARN (`arn:aws:sts::ACCOUNT:assumed-role/...`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// A read that failed, as the failed check shows it: the error, which names the
/// permission when access was denied, and the hint as the detail.
fn failed_read(name: &str, what: &str, error: &BackendError) -> Check {
    let mut check = Check::fail(name, format!("{what}: {error}")).overridable();
    if let Some(hint) = error.hint() {
        check = check.detail(hint);
    }
    check
}

/// Adds the release checks of `target` to `plan`: each container's image, the secrets,
/// the task and execution roles (see the module docs).
pub(crate) async fn verify_target(plan: &mut Plan, target: &TaskDefinition, ctx: &OpContext) {
    let region = ctx.environment.region.clone();
    let (images, secrets, roles) = futures_util::join!(
        image_checks(target, &region, ctx),
        secrets_check(target, &region, ctx),
        role_checks(target, ctx)
    );
    for check in images.into_iter().chain(secrets).chain(roles) {
        plan.check(check);
    }
}

async fn image_checks(target: &TaskDefinition, region: &str, ctx: &OpContext) -> Vec<Check> {
    let verify = &ctx.backends.verify;
    join_all(target.containers.iter().map(|container| async move {
        let Some(image) = ecr_image(&container.image) else {
            return Check::pass(
                CHECK_IMAGE,
                format!(
                    "{} {}: not checked (not in ECR)",
                    container.name, container.image
                ),
            );
        };
        let shown = format!("{} {}", container.name, short_image(&image));
        if image.region != region {
            return Check::pass(
                CHECK_IMAGE,
                format!("{shown}: not checked (ECR in {})", image.region),
            );
        }
        match verify.ecr_image(&image).await {
            Ok(Lookup::Found(note)) if note.is_empty() => {
                Check::pass(CHECK_IMAGE, format!("{shown} in ECR"))
            }
            Ok(Lookup::Found(note)) => Check::pass(CHECK_IMAGE, format!("{shown} in ECR, {note}")),
            Ok(Lookup::Missing(why)) => {
                Check::fail(CHECK_IMAGE, format!("{shown} not in ECR ({why})"))
                    .detail("push it first, or release another revision")
                    .overridable()
            }
            Err(e) => failed_read(CHECK_IMAGE, &shown, &e),
        }
    }))
    .await
}

/// One secret a container names.
struct NamedSecret<'a> {
    container: &'a str,
    name: &'a str,
    source: SecretSource,
}

impl NamedSecret<'_> {
    fn shown(&self) -> String {
        let place = match &self.source {
            SecretSource::Parameter { names, .. } => {
                format!("SSM {}", names.first().map_or("?", String::as_str))
            }
            SecretSource::Secret { id, .. } => format!(
                "Secrets Manager {}",
                id.rsplit_once(":secret:").map_or(id.as_str(), |(_, n)| n)
            ),
            SecretSource::Other => "elsewhere".to_string(),
        };
        format!("{} {} ({place})", self.container, self.name)
    }
}

async fn secrets_check(target: &TaskDefinition, region: &str, ctx: &OpContext) -> Option<Check> {
    let named: Vec<NamedSecret> = target
        .containers
        .iter()
        .flat_map(|c| {
            c.secrets.iter().map(|(name, from)| NamedSecret {
                container: &c.name,
                name,
                source: secret_source(from),
            })
        })
        .collect();
    if named.is_empty() {
        return None;
    }
    let verify = &ctx.backends.verify;
    let needs_account = named.iter().any(|s| {
        matches!(
            &s.source,
            SecretSource::Parameter {
                account: Some(_),
                ..
            }
        )
    });
    let own_account = if needs_account {
        ctx.backends
            .identity
            .caller()
            .await
            .ok()
            .and_then(|arn| account_of(&arn).map(str::to_string))
    } else {
        None
    };
    // What is looked up, and what is not (another region or account).
    let checkable = |s: &NamedSecret| match &s.source {
        SecretSource::Parameter {
            region: r, account, ..
        } => {
            r.as_deref().is_none_or(|r| r == region)
                && match (account, &own_account) {
                    (Some(a), Some(own)) => a == own,
                    _ => true,
                }
        }
        SecretSource::Secret { region: r, .. } => r == region,
        SecretSource::Other => false,
    };
    let parameter_names: Vec<String> = named
        .iter()
        .filter(|s| checkable(s))
        .filter_map(|s| match &s.source {
            SecretSource::Parameter { names, .. } => Some(names.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let parameters = if parameter_names.is_empty() {
        Ok(Vec::new())
    } else {
        verify.ssm_parameters(&parameter_names).await
    };
    let parameters = match parameters {
        Ok(found) => found,
        Err(e) => return Some(failed_read(CHECK_SECRETS, "SSM parameters", &e)),
    };
    let lookups = join_all(named.iter().map(|s| async {
        match &s.source {
            SecretSource::Secret { id, .. } if checkable(s) => Some(verify.secret(id).await),
            _ => None,
        }
    }))
    .await;
    let (mut found, mut missing, mut unchecked) = (0_usize, Vec::new(), 0_usize);
    for (secret, lookup) in named.iter().zip(lookups) {
        if !checkable(secret) {
            unchecked += 1;
            continue;
        }
        match (&secret.source, lookup) {
            (SecretSource::Parameter { names, .. }, _) => {
                if names.iter().any(|n| parameters.contains(n)) {
                    found += 1;
                } else {
                    missing.push(secret.shown());
                }
            }
            (_, Some(Ok(Lookup::Found(_)))) => found += 1,
            (_, Some(Ok(Lookup::Missing(why)))) => {
                missing.push(format!("{}: {why}", secret.shown()));
            }
            (_, Some(Err(e))) => {
                return Some(failed_read(CHECK_SECRETS, &secret.shown(), &e));
            }
            (_, None) => unchecked += 1,
        }
    }
    let not_checked = if unchecked > 0 {
        format!(", {unchecked} not checked (another region or account)")
    } else {
        String::new()
    };
    Some(if missing.is_empty() {
        Check::pass(
            CHECK_SECRETS,
            format!("{found} of {} found{not_checked}", named.len()),
        )
    } else {
        Check::fail(CHECK_SECRETS, format!("missing: {}", missing.join(", ")))
            .detail("create it first, or release another revision")
            .overridable()
    })
}

async fn role_checks(target: &TaskDefinition, ctx: &OpContext) -> Vec<Check> {
    let verify = &ctx.backends.verify;
    let roles = [
        (CHECK_TASK_ROLE, target.task_role.as_deref()),
        (CHECK_EXECUTION_ROLE, target.execution_role.as_deref()),
    ];
    join_all(
        roles
            .into_iter()
            .filter_map(|(check, role)| Some((check, role?)))
            .map(|(check, role)| async move {
                let name = role_name(role);
                match verify.iam_role(name).await {
                    Ok(Lookup::Found(_)) => Check::pass(check, format!("{name} exists")),
                    Ok(Lookup::Missing(why)) => {
                        Check::fail(check, format!("{name} missing ({why})"))
                            .detail("create it first, or release another revision")
                            .overridable()
                    }
                    Err(e) => failed_read(check, name, &e),
                }
            }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_images_by_tag_digest_or_latest() {
        let image =
            ecr_image("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/ibet/wallet-api:v24.12.0")
                .expect("ecr");
        assert_eq!(image.registry, "123456789012");
        assert_eq!(image.region, "ap-northeast-1");
        assert_eq!(image.repository, "ibet/wallet-api");
        assert_eq!(image.reference, ImageReference::Tag("v24.12.0".into()));
        let pinned = ecr_image("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api@sha256:abc")
            .expect("ecr");
        assert_eq!(
            pinned.reference,
            ImageReference::Digest("sha256:abc".into())
        );
        let bare = ecr_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/api").expect("ecr");
        assert_eq!(bare.reference, ImageReference::Tag("latest".into()));
        for outside in [
            "nginx:1.27",
            "public.ecr.aws/nginx/nginx:1.27",
            "ghcr.io/org/app:v1",
            "registry:5000/team/app:v2",
            "12345.dkr.ecr.ap-northeast-1.amazonaws.com/api:v1",
        ] {
            assert_eq!(ecr_image(outside), None, "{outside}");
        }
    }

    #[test]
    fn secrets_point_at_parameters_or_secrets() {
        assert_eq!(
            secret_source("arn:aws:ssm:ap-northeast-1:123456789012:parameter/ibet/stg/db"),
            SecretSource::Parameter {
                names: vec!["/ibet/stg/db".into()],
                region: Some("ap-northeast-1".into()),
                account: Some("123456789012".into()),
            }
        );
        let SecretSource::Parameter { names, .. } =
            secret_source("arn:aws:ssm:ap-northeast-1:1:parameter/db")
        else {
            panic!("a parameter");
        };
        assert_eq!(names, ["db", "/db"]);
        assert_eq!(
            secret_source("/ibet/stg/db"),
            SecretSource::Parameter {
                names: vec!["/ibet/stg/db".into()],
                region: None,
                account: None,
            }
        );
        assert_eq!(
            secret_source(
                "arn:aws:secretsmanager:ap-northeast-1:1:secret:ibet-stg/apns-AbCdEf:key::"
            ),
            SecretSource::Secret {
                id: "arn:aws:secretsmanager:ap-northeast-1:1:secret:ibet-stg/apns-AbCdEf".into(),
                region: "ap-northeast-1".into(),
            }
        );
        assert_eq!(
            secret_source("arn:aws:s3:::bucket/key"),
            SecretSource::Other
        );
    }

    #[test]
    fn roles_are_named_by_the_last_part_of_their_arn() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/ecs/ibet-stg-api-task"),
            "ibet-stg-api-task"
        );
        assert_eq!(role_name("ecsTaskExecutionRole"), "ecsTaskExecutionRole");
        assert_eq!(
            account_of("arn:aws:sts::123456789012:assumed-role/ops/alice"),
            Some("123456789012")
        );
    }

    /// Every read refused, as AWS refuses an operator whose policy lacks the action.
    struct Denied;

    fn denied(action: &str) -> BackendError {
        BackendError::AccessDenied {
            action: action.to_string(),
            principal: Some("arn:aws:sts::123456789012:assumed-role/ibet-operator/demo".into()),
            resource: None,
            reason: None,
        }
    }

    #[async_trait::async_trait]
    impl crate::backend::VerifyApi for Denied {
        async fn ecr_image(&self, _: &EcrImage) -> crate::backend::BackendResult<Lookup> {
            Err(denied("ecr:DescribeImages"))
        }
        async fn ssm_parameters(&self, _: &[String]) -> crate::backend::BackendResult<Vec<String>> {
            Err(denied("ssm:DescribeParameters"))
        }
        async fn secret(&self, _: &str) -> crate::backend::BackendResult<Lookup> {
            Err(denied("secretsmanager:DescribeSecret"))
        }
        async fn iam_role(&self, _: &str) -> crate::backend::BackendResult<Lookup> {
            Err(denied("iam:GetRole"))
        }
    }

    #[test]
    fn a_denied_read_is_its_check_failing_with_the_permission_named() {
        use std::sync::Arc;
        let clock = Arc::new(crate::clock::ManualClock::new(1_795_000_000_000));
        let world = crate::backend::sim::SimWorld::new(7, clock.clone());
        let config = crate::backend::sim::demo_config();
        let mut backends = world.backends("staging").expect("staging");
        backends.verify = Arc::new(Denied);
        let ctx = OpContext {
            environment: config.environment("staging").expect("staging").clone(),
            backends,
            clock,
            write: false,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        // The notification worker's next revision names an image, a secret and roles.
        let plan = rt.block_on(async {
            let family = "ibet-stg-node-api-notification";
            let newest = ctx
                .backends
                .ecs
                .task_definition_revisions(family)
                .await
                .expect("revisions")
                .remove(0);
            let op = super::super::Op::Release {
                env: "staging".into(),
                cluster: "node-api".into(),
                service: "notification".into(),
                to_task_definition: newest,
            };
            super::super::plan(&op, &ctx).await
        });
        let failed: Vec<(&str, &str)> = plan
            .failed_checks()
            .map(|c| (c.name.as_str(), c.value.as_str()))
            .collect();
        let names: Vec<&str> = failed.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                CHECK_IMAGE,
                CHECK_SECRETS,
                CHECK_TASK_ROLE,
                CHECK_EXECUTION_ROLE
            ]
        );
        for ((_, value), action) in failed.iter().zip([
            "ecr:DescribeImages",
            "secretsmanager:DescribeSecret",
            "iam:GetRole",
            "iam:GetRole",
        ]) {
            assert!(value.contains(&format!("may not {action}")), "{value}");
        }
        assert!(plan.failed_checks().all(|c| c.overridable));
        assert_eq!(plan.readiness, super::super::Readiness::NeedsOverride);
    }
}
