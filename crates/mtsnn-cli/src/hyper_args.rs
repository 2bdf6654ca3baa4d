//! The hyper-parameters as command-line options: their ids, flags, help, defaults and parsing all
//! come from [`hyper::PARAMS`], the one declaration of each (`mtsnn train`, `mtsnn sweep`).

use std::sync::OnceLock;

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use mtsnn_core::Hyper;
use mtsnn_core::hyper;

/// The options of the hyper-parameters `PARAMS[FROM..TO]` (those with a help text, see
/// [`hyper::PARAMS`]): their ids, flags, help, defaults and parsing all come from that declaration.
/// Read from the matches, it holds every hyper-parameter found there, the others at their defaults.
#[derive(Clone, Debug)]
pub struct HyperArgs<const FROM: usize, const TO: usize>(pub Hyper);

/// Each hyper-parameter's long flag, value name and default, as text clap can keep (`'static`).
fn flag_texts() -> &'static [[String; 3]] {
    static TEXTS: OnceLock<Vec<[String; 3]>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        hyper::PARAMS
            .iter()
            .map(|p| {
                let value_name = p
                    .value_name
                    .map_or_else(|| p.name.to_uppercase(), String::from);
                [p.long(), value_name, p.default_text()]
            })
            .collect()
    })
}

impl<const FROM: usize, const TO: usize> Args for HyperArgs<FROM, TO> {
    fn augment_args(cmd: Command) -> Command {
        hyper::PARAMS[FROM..TO]
            .iter()
            .zip(&flag_texts()[FROM..TO])
            .fold(cmd, |cmd, (&param, [long, value_name, default])| {
                let Some(help) = param.help else { return cmd };
                let arg = Arg::new(param.name).long(long.as_str()).help(help);
                cmd.arg(if param.switch {
                    arg.action(ArgAction::SetTrue)
                } else {
                    arg.value_name(value_name.as_str())
                        .default_value(default.as_str())
                        .value_parser(move |text: &str| {
                            param
                                .set(&mut Hyper::default(), text)
                                .map(|()| text.to_string())
                        })
                })
            })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<const FROM: usize, const TO: usize> FromArgMatches for HyperArgs<FROM, TO> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut hyper = Hyper::default();
        for param in hyper::PARAMS {
            let text = if param.switch {
                matches
                    .try_get_one::<bool>(param.name)
                    .map(|v| v.map(bool::to_string))
            } else {
                matches
                    .try_get_one::<String>(param.name)
                    .map(Option::<&String>::cloned)
            };
            if let Ok(Some(text)) = text {
                param
                    .set(&mut hyper, &text)
                    .map_err(|e| clap::Error::raw(ErrorKind::ValueValidation, e))?;
            }
        }
        Ok(Self(hyper))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}
