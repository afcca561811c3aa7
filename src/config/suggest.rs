//! "Did you mean ...?": edit distance between a misspelt word and the words we know.
//!
//! Used by config validation to suggest the key or node name an operator most likely
//! meant. Pure string work; it knows nothing of TOML or of the config's shape.

/// Optimal-string-alignment distance between `a` and `b`, in characters: the fewest
/// insertions, deletions, substitutions and swaps of two neighbouring characters that
/// turn one into the other (`refesh` → `refresh` is 1, `rgeion` → `region` is 1).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the dynamic-programming table: two rows back (for swaps), the
    // previous row and the current one.
    let mut before_previous: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before_previous[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The known word closest to `word`, if it is close enough to be a likely typo: at most
/// a third of the longer word's length away (and at least one edit is always allowed).
/// A word that differs only in case always matches. When two candidates are equally
/// close (`general-3` against `general-1` and `general-2`) there is no likely typo, and
/// the answer is `None`: the caller should list the candidates instead.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    let mut tied = false;
    for &candidate in candidates {
        let distance = if candidate.eq_ignore_ascii_case(word) {
            0
        } else {
            edit_distance(word, candidate)
        };
        let longest = word.chars().count().max(candidate.chars().count());
        if distance > (longest / 3).max(1) {
            continue;
        }
        match best {
            Some((d, _)) if distance == d => tied = true,
            Some((d, _)) if distance > d => {}
            _ => {
                best = Some((distance, candidate));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(_, candidate)| candidate)
}

/// `` `a`, `b`, `c` ``: words quoted and joined, for "valid keys are ..." messages.
pub fn quoted_list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `` `a` or `b` `` / `` `a`, `b` or `c` ``: the allowed values of an enum.
pub fn quoted_alternatives(words: &[&str]) -> String {
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => format!("`{last}`"),
        Some((last, rest)) => format!("{} or `{last}`", quoted_list(rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_single_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("name", "name"), 0);
        assert_eq!(edit_distance("refesh_secs", "refresh_secs"), 1); // insertion
        assert_eq!(edit_distance("refreshh_secs", "refresh_secs"), 1); // deletion
        assert_eq!(edit_distance("rpc_ulr", "rpc_url"), 1); // swap
        assert_eq!(edit_distance("role", "rule"), 1); // substitution
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ca", "abc"), 3); // OSA: no edit of a swapped pair
    }

    #[test]
    fn distance_is_symmetric_and_counts_characters_not_bytes() {
        assert_eq!(edit_distance("région", "region"), 1);
        assert_eq!(
            edit_distance("listener_arn", "rule_arn"),
            edit_distance("rule_arn", "listener_arn")
        );
    }

    #[test]
    fn closest_suggests_only_likely_typos() {
        let keys = ["refresh_secs", "rpc_poll_secs", "theme", "environments"];
        assert_eq!(closest("refesh_secs", &keys), Some("refresh_secs"));
        assert_eq!(closest("enviroments", &keys), Some("environments"));
        assert_eq!(closest("Theme", &keys), Some("theme"));
        assert_eq!(closest("colour", &keys), None);
        assert_eq!(closest("x", &keys), None);
    }

    #[test]
    fn closest_prefers_the_nearest_and_refuses_ties() {
        assert_eq!(closest("nme", &["name", "mode"]), Some("name"));
        assert_eq!(
            closest("genral-2", &["general-1", "general-2"]),
            Some("general-2")
        );
        assert_eq!(closest("general-3", &["general-1", "general-2"]), None);
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(quoted_list(&["a", "b"]), "`a`, `b`");
        assert_eq!(quoted_alternatives(&["general"]), "`general`");
        assert_eq!(
            quoted_alternatives(&["general", "validator"]),
            "`general` or `validator`"
        );
        assert_eq!(quoted_alternatives(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
