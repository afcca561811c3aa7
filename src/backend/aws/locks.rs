//! The action lock in a DynamoDB table: [`DynamoLocks`] implements [`LockStore`].
//!
//! One item per held scope, partition key `lock_id` (S). Taken with a conditional
//! PutItem (`attribute_not_exists(lock_id) OR expires_at < :now`), renewed with an
//! UpdateItem and released with a DeleteItem, both conditioned on the holder's `owner`
//! and `token`; listed with one consistent Scan (a page per MB, a handful of items in
//! practice); broken with an unconditional DeleteItem. A refused condition returns the
//! item that refused it (`ReturnValuesOnConditionCheckFailure`), so naming the holder
//! costs no extra read. Each call is one request; this adapter never retries or waits,
//! and never relies on the table's TTL (which deletes up to days late).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::auth::classify;
use crate::backend::BackendError;
use crate::backend::lock::{LockError, LockRecord, LockStore};

const PUT: &str = "dynamodb:PutItem";
const UPDATE: &str = "dynamodb:UpdateItem";
const DELETE: &str = "dynamodb:DeleteItem";
const SCAN: &str = "dynamodb:Scan";

/// The lock table of one environment.
#[derive(Debug, Clone)]
pub struct DynamoLocks {
    client: aws_sdk_dynamodb::Client,
    table: String,
    profile: Option<String>,
}

impl DynamoLocks {
    /// The table `table`, through the environment's SDK configuration; `profile` names
    /// the AWS profile in hints.
    pub fn new(config: &aws_config::SdkConfig, table: &str, profile: Option<String>) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(config),
            table: table.to_string(),
            profile,
        }
    }

    fn store_error<E, R>(
        &self,
        err: &aws_sdk_dynamodb::error::SdkError<E, R>,
        permission: &'static str,
    ) -> LockError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let source = match classify(err, permission, self.profile.as_deref()) {
            BackendError::NotFound(_) => {
                BackendError::NotFound(format!("no DynamoDB table `{}`", self.table))
            }
            other => other,
        };
        LockError::Store {
            place: self.place(),
            permission,
            source: Box::new(source),
        }
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn item(record: &LockRecord) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("lock_id".to_string(), s(&record.lock_id)),
        ("owner".to_string(), s(&record.owner)),
        ("caller_arn".to_string(), s(&record.caller_arn)),
        ("action".to_string(), s(&record.action)),
        ("since".to_string(), n(record.since)),
        ("expires_at".to_string(), n(record.expires_at)),
        ("token".to_string(), s(&record.token)),
    ])
}

/// A record from an item; missing attributes read as empty (another tool's item).
fn record(item: &HashMap<String, AttributeValue>) -> LockRecord {
    let text = |key: &str| {
        item.get(key)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let number = |key: &str| {
        item.get(key)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v as i64)
    };
    LockRecord {
        lock_id: text("lock_id"),
        owner: text("owner"),
        caller_arn: text("caller_arn"),
        action: text("action"),
        since: number("since"),
        expires_at: number("expires_at"),
        token: text("token"),
    }
}

fn lost(lock_id: &str, found: Option<&HashMap<String, AttributeValue>>) -> LockError {
    LockError::Lost {
        lock_id: lock_id.to_string(),
        detail: found.map_or_else(
            || "it was removed".to_string(),
            |item| format!("it is held by {} now", record(item).owner),
        ),
    }
}

#[async_trait]
impl LockStore for DynamoLocks {
    fn place(&self) -> String {
        format!("DynamoDB table `{}`", self.table)
    }

    fn shared(&self) -> bool {
        true
    }

    async fn acquire(&self, lock: &LockRecord, now: i64) -> Result<(), LockError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(lock)))
            .condition_expression("attribute_not_exists(#id) OR #exp < :now")
            .expression_attribute_names("#id", "lock_id")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(refused)) => {
                    let holder = match refused.item() {
                        Some(item) => record(item),
                        // Not every endpoint returns the item: one read names the holder.
                        None => self
                            .list(&lock.lock_id)
                            .await?
                            .into_iter()
                            .find(|r| r.lock_id == lock.lock_id)
                            .unwrap_or_else(|| LockRecord {
                                lock_id: lock.lock_id.clone(),
                                owner: "another console".into(),
                                caller_arn: "unknown".into(),
                                action: "unknown".into(),
                                since: now,
                                expires_at: now,
                                token: String::new(),
                            }),
                    };
                    Err(LockError::Held(Box::new(holder)))
                }
                _ => Err(self.store_error(&e, PUT)),
            },
        }
    }

    async fn renew(&self, lock: &LockRecord, expires_at: i64) -> Result<(), LockError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("lock_id", s(&lock.lock_id))
            .update_expression("SET #exp = :exp")
            .condition_expression("#owner = :owner AND #token = :token")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":owner", s(&lock.owner))
            .expression_attribute_values(":token", s(&lock.token))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Err(lost(&lock.lock_id, refused.item()))
                }
                _ => Err(self.store_error(&e, UPDATE)),
            },
        }
    }

    async fn release(&self, lock: &LockRecord) -> Result<(), LockError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("lock_id", s(&lock.lock_id))
            .condition_expression("#owner = :owner AND #token = :token")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":owner", s(&lock.owner))
            .expression_attribute_values(":token", s(&lock.token))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(refused)) => {
                    Err(lost(&lock.lock_id, refused.item()))
                }
                _ => Err(self.store_error(&e, DELETE)),
            },
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<LockRecord>, LockError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if !prefix.is_empty() {
                request = request
                    .filter_expression("begins_with(#id, :prefix)")
                    .expression_attribute_names("#id", "lock_id")
                    .expression_attribute_values(":prefix", s(prefix));
            }
            let page = request
                .send()
                .await
                .map_err(|e| self.store_error(&e, SCAN))?;
            records.extend(page.items().iter().map(record));
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        records.sort_by(|a, b| a.lock_id.cmp(&b.lock_id));
        Ok(records)
    }

    async fn break_lock(&self, lock_id: &str) -> Result<Option<LockRecord>, LockError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("lock_id", s(lock_id))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| self.store_error(&e, DELETE))?;
        Ok(output.attributes().map(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_the_contract() {
        let lock = LockRecord {
            lock_id: "staging/node-api/api".into(),
            owner: "alice@bastion-2".into(),
            caller_arn: "arn:aws:iam::123456789012:user/alice".into(),
            action: "release api → ibet-api:43".into(),
            since: 1_700_000_000,
            expires_at: 1_700_000_120,
            token: "t".into(),
        };
        let item = item(&lock);
        assert_eq!(item["since"], AttributeValue::N("1700000000".into()));
        assert_eq!(item["expires_at"], AttributeValue::N("1700000120".into()));
        assert_eq!(item["owner"], AttributeValue::S("alice@bastion-2".into()));
        assert_eq!(record(&item), lock);
    }
}
