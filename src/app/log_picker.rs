//! The container picker: `l` on a task with several logging containers asks which one
//! to follow, or all of them, before the log view opens; `x` on a task with several
//! containers asks which one to open a session in.
//!
//! Pure data and a key handler: [`ContainerPicker::for_task`] builds it from the task's
//! definition in a cluster snapshot, [`ContainerPicker::handle_key`] turns a key into a
//! [`PickerAction`]. It opens nothing itself (the update opens the log view with the
//! chosen [`LogTarget`]) and draws nothing (`ui::logs` draws it).

use crossterm::event::{KeyCode, KeyEvent};

use crate::logs::LogTarget;
use crate::model::ecs::{ClusterSnapshot, Task};

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerAction {
    /// The key means nothing here.
    Ignored,
    /// The selection moved; redraw.
    Moved,
    /// Close the picker, open nothing.
    Close,
    /// Open the log view of `target`, titled `label`.
    Open {
        /// The title of the log view, e.g. `api/1a2b3c4d/web`.
        label: String,
        /// What to follow.
        target: LogTarget,
    },
    /// Open a session in `container` of `task`.
    Exec {
        /// The task id.
        task: String,
        /// The container.
        container: String,
    },
}

/// What the chosen container is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerPurpose {
    /// Its logs (or every container's: the first row).
    Logs,
    /// A session in it (one container only).
    Exec,
}

/// The choice between every container of one task and each of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPicker {
    /// The task, as the log view's title names it, e.g. `api/1a2b3c4d`.
    pub task_label: String,
    /// The task id.
    pub task: String,
    /// The containers to choose from, in the task definition's order.
    pub containers: Vec<String>,
    /// The selected row: for logs 0 is "all containers", then one row per container.
    pub row: usize,
    /// Logs or a session.
    pub purpose: PickerPurpose,
}

impl ContainerPicker {
    /// The picker for `task` when its definition (in `snapshot`) has more than one
    /// container that logs with `awslogs` (or, when none does, more than one container:
    /// a log group override may cover them); `None` when there is nothing to choose.
    pub fn for_task(snapshot: &ClusterSnapshot, task: &Task, task_label: &str) -> Option<Self> {
        let definition = snapshot.task_definitions.get(&task.task_definition)?;
        let logging: Vec<String> = definition
            .containers
            .iter()
            .filter(|c| c.log.is_some())
            .map(|c| c.name.clone())
            .collect();
        let containers = if logging.is_empty() {
            definition
                .containers
                .iter()
                .map(|c| c.name.clone())
                .collect()
        } else {
            logging
        };
        (containers.len() > 1).then(|| Self {
            task_label: task_label.to_string(),
            task: task.id.clone(),
            containers,
            row: 0,
            purpose: PickerPurpose::Logs,
        })
    }

    /// The picker of the container to open a session in, when `task` has more than
    /// one; `None` when there is nothing to choose.
    pub fn for_exec(task: &Task, task_label: &str) -> Option<Self> {
        (task.containers.len() > 1).then(|| Self {
            task_label: task_label.to_string(),
            task: task.id.clone(),
            containers: task.containers.iter().map(|c| c.name.clone()).collect(),
            row: 0,
            purpose: PickerPurpose::Exec,
        })
    }

    /// The row of the first container (after "all containers" for logs).
    pub fn first_container_row(&self) -> usize {
        match self.purpose {
            PickerPurpose::Logs => 1,
            PickerPurpose::Exec => 0,
        }
    }

    /// How many rows it offers ("all containers", for logs, and one per container).
    pub fn rows(&self) -> usize {
        self.containers.len() + self.first_container_row()
    }

    /// The number a row is chosen with: `0` for all containers, then `1`, `2`…
    pub fn number_of_row(&self, row: usize) -> usize {
        row + 1 - self.first_container_row()
    }

    /// What the selected row opens.
    pub fn selected(&self) -> PickerAction {
        if self.purpose == PickerPurpose::Exec {
            return self
                .containers
                .get(self.row)
                .map_or(PickerAction::Ignored, |container| PickerAction::Exec {
                    task: self.task.clone(),
                    container: container.clone(),
                });
        }
        match self.row.checked_sub(1).and_then(|i| self.containers.get(i)) {
            None => PickerAction::Open {
                label: self.task_label.clone(),
                target: LogTarget::Task(self.task.clone()),
            },
            Some(container) => PickerAction::Open {
                label: format!("{}/{container}", self.task_label),
                target: LogTarget::Container {
                    task: self.task.clone(),
                    container: container.clone(),
                },
            },
        }
    }

    /// ↑↓ (or k j, Home End, g G) move, Enter opens, `0` opens all, `1`…`9` open that
    /// container, Esc or q closes.
    pub fn handle_key(&mut self, key: KeyEvent) -> PickerAction {
        let last = self.rows() - 1;
        let to = match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.row.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => (self.row + 1).min(last),
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => last,
            KeyCode::Enter => return self.selected(),
            KeyCode::Char(c @ '0'..='9') => {
                let number = (c as usize) - ('0' as usize);
                let Some(row) = (number + self.first_container_row()).checked_sub(1) else {
                    return PickerAction::Ignored;
                };
                if row > last {
                    return PickerAction::Ignored;
                }
                self.row = row;
                return self.selected();
            }
            KeyCode::Esc | KeyCode::Char('q') => return PickerAction::Close,
            _ => return PickerAction::Ignored,
        };
        if to == self.row {
            return PickerAction::Ignored;
        }
        self.row = to;
        PickerAction::Moved
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crossterm::event::KeyModifiers;

    use super::*;
    use crate::model::ecs::{AwsLogs, ContainerDefinition, TaskDefinition};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn container(name: &str, logs: bool) -> ContainerDefinition {
        ContainerDefinition {
            name: name.into(),
            log: logs.then(|| AwsLogs {
                group: "/ecs/ap".into(),
                region: None,
                stream_prefix: Some("ap".into()),
            }),
            ..ContainerDefinition::default()
        }
    }

    fn snapshot(containers: Vec<ContainerDefinition>) -> (ClusterSnapshot, Task) {
        let definition = TaskDefinition {
            arn: "arn:td/ap:3".into(),
            containers,
            ..TaskDefinition::default()
        };
        let task = Task {
            id: "1a2b3c4d5e6f".into(),
            service: Some("ap".into()),
            task_definition: definition.arn.clone(),
            ..Task::default()
        };
        let snapshot = ClusterSnapshot {
            tasks: vec![task.clone()],
            task_definitions: BTreeMap::from([(definition.arn.clone(), definition)]),
            ..ClusterSnapshot::default()
        };
        (snapshot, task)
    }

    #[test]
    fn offered_only_when_there_is_a_choice() {
        let (snap, task) = snapshot(vec![container("web", true)]);
        assert_eq!(ContainerPicker::for_task(&snap, &task, "ap/1a2b3c4d"), None);
        // A sidecar that does not log is no choice either.
        let (snap, task) = snapshot(vec![container("web", true), container("envoy", false)]);
        assert_eq!(ContainerPicker::for_task(&snap, &task, "ap/1a2b3c4d"), None);
        let (snap, task) = snapshot(vec![
            container("web", true),
            container("envoy", false),
            container("notification", true),
        ]);
        let picker = ContainerPicker::for_task(&snap, &task, "ap/1a2b3c4d").expect("a choice");
        assert_eq!(picker.containers, ["web", "notification"]);
        assert_eq!(picker.rows(), 3);
    }

    #[test]
    fn keys_choose_all_or_one_container() {
        let (snap, task) = snapshot(vec![
            container("web", true),
            container("notification", true),
            container("batch", true),
        ]);
        let mut picker = ContainerPicker::for_task(&snap, &task, "ap/1a2b3c4d").expect("picker");
        assert_eq!(
            picker.handle_key(key(KeyCode::Enter)),
            PickerAction::Open {
                label: "ap/1a2b3c4d".into(),
                target: LogTarget::Task("1a2b3c4d5e6f".into()),
            }
        );
        assert_eq!(picker.handle_key(key(KeyCode::Up)), PickerAction::Ignored);
        assert_eq!(picker.handle_key(key(KeyCode::Down)), PickerAction::Moved);
        assert_eq!(
            picker.handle_key(key(KeyCode::Char('j'))),
            PickerAction::Moved
        );
        assert_eq!(
            picker.handle_key(key(KeyCode::Enter)),
            PickerAction::Open {
                label: "ap/1a2b3c4d/notification".into(),
                target: LogTarget::Container {
                    task: "1a2b3c4d5e6f".into(),
                    container: "notification".into(),
                },
            }
        );
        assert_eq!(picker.handle_key(key(KeyCode::End)), PickerAction::Moved);
        assert_eq!(picker.row, 3);
        assert_eq!(
            picker.handle_key(key(KeyCode::Char('4'))),
            PickerAction::Ignored
        );
        assert!(matches!(
            picker.handle_key(key(KeyCode::Char('1'))),
            PickerAction::Open { label, .. } if label == "ap/1a2b3c4d/web"
        ));
        assert_eq!(picker.handle_key(key(KeyCode::Esc)), PickerAction::Close);
        assert_eq!(
            picker.handle_key(key(KeyCode::Char('x'))),
            PickerAction::Ignored
        );
    }

    #[test]
    fn a_session_picker_offers_each_container_of_the_task() {
        use crate::model::ecs::Container;
        let mut task = Task {
            id: "1a2b3c4d5e6f".into(),
            containers: vec![Container {
                name: "web".into(),
                ..Container::default()
            }],
            ..Task::default()
        };
        assert_eq!(ContainerPicker::for_exec(&task, "ap/1a2b3c4d"), None);
        task.containers.push(Container {
            name: "notification".into(),
            ..Container::default()
        });
        let mut picker = ContainerPicker::for_exec(&task, "ap/1a2b3c4d").expect("a choice");
        assert_eq!(picker.rows(), 2);
        assert_eq!(picker.number_of_row(0), 1);
        assert_eq!(
            picker.handle_key(key(KeyCode::Char('0'))),
            PickerAction::Ignored
        );
        assert_eq!(
            picker.handle_key(key(KeyCode::Char('2'))),
            PickerAction::Exec {
                task: "1a2b3c4d5e6f".into(),
                container: "notification".into(),
            }
        );
        assert_eq!(picker.handle_key(key(KeyCode::Up)), PickerAction::Moved);
        assert_eq!(
            picker.handle_key(key(KeyCode::Enter)),
            PickerAction::Exec {
                task: "1a2b3c4d5e6f".into(),
                container: "web".into(),
            }
        );
    }
}
