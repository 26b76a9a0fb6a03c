use proptest::prelude::*;

use super::*;

fn terms(text: &str) -> Vec<String> {
    index_terms(text).into_iter().collect()
}

fn hit_texts(query: &str, text: &str) -> Option<Vec<String>> {
    let query = Query::parse(query).unwrap();
    query
        .hits(text)
        .map(|hits| hits.into_iter().map(|hit| text[hit].to_owned()).collect())
}

#[test]
fn words_are_folded_by_case_accent_and_width() {
    assert_eq!(
        terms("Perché NO? ＡＢＣ l'Amore"),
        ["abc", "amore", "l", "no", "perche"]
    );
    assert_eq!(fold("ÉCOLE ﬁne"), "ecole fine");
}

#[test]
fn a_cjk_run_gives_its_characters_and_their_pairs() {
    assert_eq!(
        terms("北京欢迎"),
        ["京", "京欢", "北", "北京", "欢", "欢迎", "迎"]
    );
    // Latin inside a run splits it; each side is a run of its own.
    assert_eq!(terms("买iPhone手机"), ["iphone", "买", "手", "手机", "机"]);
}

#[test]
fn a_two_character_word_inside_a_longer_run_is_found() {
    let text = "我们明天在北京天安门广场见面吧";
    assert_eq!(hit_texts("北京", text), Some(vec!["北京".to_owned()]));
    assert_eq!(hit_texts("天安门", text), Some(vec!["天安门".to_owned()]));
    assert_eq!(hit_texts("广", text), Some(vec!["广".to_owned()]));
    // Every pair of 北京天 is somewhere in here, but not the three together.
    assert_eq!(hit_texts("北京天", "北京很大，京天不远"), None);
    assert_eq!(hit_texts("上海", text), None);
}

#[test]
fn japanese_and_korean_are_found_inside_runs() {
    assert_eq!(
        hit_texts("東京", "明日は東京駅で会いましょう"),
        Some(vec!["東京".to_owned()])
    );
    assert_eq!(
        hit_texts("カメラ", "新しいカメラを買った"),
        Some(vec!["カメラ".to_owned()])
    );
    assert_eq!(
        hit_texts("서울", "서울에서 만나요"),
        Some(vec!["서울".to_owned()])
    );
    assert_eq!(hit_texts("부산", "서울에서 만나요"), None);
}

#[test]
fn half_width_and_decomposed_kana_are_the_kana_they_write() {
    // ｶﾞｽ (half-width, the voicing mark apart) and ガス written with a
    // combining mark are both ガス, and not カス.
    assert_eq!(fold("ｶﾞｽ"), "ガス");
    assert_eq!(fold("カ\u{3099}ス"), "ガス");
    assert_eq!(
        hit_texts("ガス", "ｶﾞｽ代を払った"),
        Some(vec!["ｶﾞｽ".to_owned()])
    );
    assert_eq!(hit_texts("ｶﾞｽ", "ガス代"), Some(vec!["ガス".to_owned()]));
    assert_eq!(hit_texts("ガス", "カス"), None);
}

#[test]
fn every_part_of_a_query_must_be_there() {
    let text = "Ci vediamo domani in pizzeria, perché piove";
    assert_eq!(
        hit_texts("PERCHE domani", text),
        Some(vec!["domani".to_owned(), "perché".to_owned()])
    );
    assert_eq!(hit_texts("domani sera", text), None);
}

#[test]
fn only_the_last_word_being_typed_matches_a_longer_word() {
    let text = "Ci vediamo domani in pizzeria";
    assert_eq!(hit_texts("pizz", text), Some(vec!["pizz".to_owned()]));
    assert_eq!(hit_texts("pizz ", text), None);
    assert_eq!(hit_texts("pizz domani", text), None);
    assert_eq!(hit_texts("p", text), None);
}

#[test]
fn queries_are_parsed_into_parts_or_refused() {
    let query = Query::parse("Ciao 北京 ciao ami").unwrap();
    assert_eq!(
        query.parts(),
        [
            Part::Word {
                term: "ciao".into(),
                prefix: false
            },
            Part::Cjk("北京".into()),
            Part::Word {
                term: "ami".into(),
                prefix: true
            },
        ]
    );
    assert_eq!(Query::parse("  !? "), Err(QueryError::Empty));
    assert_eq!(Query::parse(&"a".repeat(201)), Err(QueryError::TooLong));
    assert_eq!(
        Query::parse("a b c d e f g h i"),
        Err(QueryError::TooManyParts)
    );
}

#[test]
fn a_long_text_is_cut_around_its_first_hit() {
    let text = format!("{} needle {}", "hay ".repeat(60), "straw ".repeat(60));
    let hits = Query::parse("needle ").unwrap().hits(&text).unwrap();
    let parts = snippet(&text, &hits);
    assert_eq!(parts.first().unwrap().text, "…");
    assert_eq!(parts.last().unwrap().text, "…");
    let shown: String = parts.iter().map(|part| part.text.as_str()).collect();
    assert!(shown.chars().count() <= SNIPPET_CHARS + 2, "{shown}");
    assert!(parts.iter().any(|part| part.hit && part.text == "needle"));
}

#[test]
fn hits_are_highlighted_in_the_original_text() {
    let text = "Ｐｉｚｚａ a Perché";
    let hits = Query::parse("pizza perche").unwrap().hits(text).unwrap();
    let parts = snippet(text, &hits);
    let marked: Vec<(&str, bool)> = parts.iter().map(|p| (p.text.as_str(), p.hit)).collect();
    assert_eq!(
        marked,
        [("Ｐｉｚｚａ", true), (" a ", false), ("Perché", true)]
    );
}

proptest! {
    #[test]
    fn any_text_and_query_are_handled(text in "\\PC{0,80}", query in "\\PC{0,12}") {
        let _ = index_terms(&text);
        if let Ok(query) = Query::parse(&query)
            && let Some(hits) = query.hits(&text)
        {
            for hit in &hits {
                prop_assert!(text.is_char_boundary(hit.start) && text.is_char_boundary(hit.end));
                prop_assert!(hit.start < hit.end);
            }
            let _ = snippet(&text, &hits);
        }
    }

    #[test]
    fn a_text_is_a_hit_for_its_own_words(words in proptest::collection::vec("[a-zà-ü北京上海东西]{1,6}", 1..6)) {
        let text = words.join(" ");
        let query = format!("{} ", words.join(" "));
        if let Ok(query) = Query::parse(&query) {
            prop_assert!(query.hits(&text).is_some(), "{text}");
            // A hit's terms are all among the text's.
            let indexed = index_terms(&text);
            for part in query.parts() {
                if let Part::Word { term, .. } = part {
                    prop_assert!(indexed.contains(term));
                }
            }
        }
    }
}
