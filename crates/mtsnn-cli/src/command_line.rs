//! The command line of this process as a person would type it again: the program as `mtsnn`
//! (whatever path started it), each word quoted for a POSIX shell where it needs to be. Figures
//! and sweep summaries carry it so that every result says how it was made.

/// This process's command line, e.g. `mtsnn plot surrogates --s-max 3`.
pub fn this_command() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    shell_line("mtsnn", &args)
}

/// `program` and `args`, each word quoted where the shell would otherwise split or expand it.
pub fn shell_line(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word, in single quotes unless it consists only of characters the shell leaves alone.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        let args = ["plot", "curves", "runs/a b", "it's", "", "--alpha-w=0.2"].map(String::from);
        assert_eq!(
            shell_line("mtsnn", &args),
            r"mtsnn plot curves 'runs/a b' 'it'\''s' '' --alpha-w=0.2"
        );
    }
}
