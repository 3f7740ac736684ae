//! Language and local time: the page text of both languages from the Fluent catalogues
//! compiled into the binary (`locales/<lang>/console.ftl`), zh-CN by default and English on
//! the visitor's choice (the `egov_lang` cookie), and instants written in local time
//! (Asia/Shanghai) the way the CLI writes them.

use chrono::{DateTime, FixedOffset, Utc};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文: the default, for the people who work in it.
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>` and the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language of a cookie's or a parameter's value; anything else is the default.
    pub fn parse(text: &str) -> Lang {
        if text.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

/// Both catalogues, parsed once at start.
pub struct Catalogues {
    zh: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogues").finish_non_exhaustive()
    }
}

const ZH: &str = include_str!("../locales/zh-CN/console.ftl");
const EN: &str = include_str!("../locales/en/console.ftl");

fn bundle(tag: &str, text: &'static str) -> FluentBundle<FluentResource> {
    // The catalogues are compiled in: one that does not parse is a build fault, which the
    // catalogue test finds.
    let resource = FluentResource::try_new(text.to_owned())
        .unwrap_or_else(|(_, errors)| panic!("catalogue {tag} does not parse: {errors:?}"));
    let lang = tag.parse().expect("a valid language tag");
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks: the text goes into HTML, where they show as stray marks in
    // copied text and in the browser tests' assertions.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("catalogue {tag} repeats a message: {errors:?}"));
    bundle
}

impl Catalogues {
    pub fn new() -> Catalogues {
        Catalogues {
            zh: bundle("zh-CN", ZH),
            en: bundle("en", EN),
        }
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    /// The message `key` in `lang` with `args`; a missing message shows its key, so a page
    /// never fails for want of a translation (the catalogue test checks both have every key).
    pub fn text(&self, lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned()
    }

    /// The ids of every message of `lang`'s catalogue.
    #[cfg(test)]
    pub fn keys(lang: Lang) -> Vec<String> {
        let text = match lang {
            Lang::Zh => ZH,
            Lang::En => EN,
        };
        text.lines()
            .filter_map(|line| line.split_once(" ="))
            .map(|(key, _)| key.trim().to_owned())
            .filter(|key| !key.is_empty() && !key.starts_with('#') && !key.starts_with(' '))
            .collect()
    }
}

impl Default for Catalogues {
    fn default() -> Self {
        Catalogues::new()
    }
}

/// China Standard Time (Asia/Shanghai keeps +08:00 all year).
pub fn local_zone() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// `2026-11-20 09:30` in local time; the midnight that ends a day is `24:00` of that day,
/// the way deadlines are written (ALL Art. 82: a limit ends at the end of its last day), as
/// the CLI writes it (`services/egov/src/output.rs::local_time`).
pub fn local_time(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&local_zone());
    if local.format("%H:%M:%S%.f").to_string() == "00:00:00" {
        let day = local - chrono::Duration::days(1);
        return format!("{} 24:00", day.format("%Y-%m-%d"));
    }
    local.format("%Y-%m-%d %H:%M").to_string()
}

/// A protobuf instant as a UTC time, when set and valid.
pub fn to_utc(ts: Option<&pbjson_types::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or(0))
}

/// [`local_time`] of a protobuf instant; `-` when unset.
pub fn local_ts(ts: Option<&pbjson_types::Timestamp>) -> String {
    to_utc(ts).map_or_else(|| "-".to_owned(), local_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_every_message() {
        let zh = Catalogues::keys(Lang::Zh);
        let en = Catalogues::keys(Lang::En);
        let missing_en: Vec<_> = zh.iter().filter(|k| !en.contains(k)).collect();
        let missing_zh: Vec<_> = en.iter().filter(|k| !zh.contains(k)).collect();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_zh.is_empty(), "missing in zh-CN: {missing_zh:?}");
        let catalogues = Catalogues::new();
        for key in &zh {
            assert_ne!(&catalogues.text(Lang::Zh, key, &[]), key);
        }
    }

    #[test]
    fn midnight_ending_a_day_is_24_00_of_that_day() {
        let t: DateTime<Utc> = "2026-03-01T16:00:00Z".parse().unwrap();
        assert_eq!(local_time(t), "2026-03-01 24:00");
        let t: DateTime<Utc> = "2026-03-01T01:30:00Z".parse().unwrap();
        assert_eq!(local_time(t), "2026-03-01 09:30");
    }
}
