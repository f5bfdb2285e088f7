//! Property tests for the reply precedence (`parley_domain::personas`): whatever mix of
//! layers is present, blank or named, the answer is the first layer that names something,
//! and lower layers can never change it.

use parley_domain::personas::{
    resolve_reply_source, PathwayChoice, PathwayOverride, PersonaRouting, ReplyLayers, ReplyOrigin,
    ReplySource,
};
use proptest::prelude::*;

/// A blank-or-named string: blanks must fall through like absent values.
fn word() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        Just(Some("  ".to_owned())),
        "[a-z]{1,6}".prop_map(Some),
    ]
}

fn over() -> impl Strategy<Value = Option<PathwayOverride>> {
    prop::option::of(
        (word(), word(), word()).prop_map(|(id, v, n)| PathwayOverride {
            pathway_id: id,
            pathway_version: v,
            start_node_id: n,
        }),
    )
}

fn routing() -> impl Strategy<Value = Option<PersonaRouting>> {
    prop::option::of(
        (prop::collection::vec(over(), 0..4), word()).prop_map(|(c, prompt)| PersonaRouting {
            conditions: c.into_iter().flatten().collect(),
            prompt,
        }),
    )
}

fn layers() -> impl Strategy<Value = ReplyLayers> {
    (over(), over(), over(), routing(), over(), word()).prop_map(|(s, r, n, p, own, obj)| {
        ReplyLayers {
            send_persona_settings: s,
            request_pathway: r,
            number_persona_settings: n,
            persona: p,
            number_pathway: own,
            number_objective: obj,
        }
    })
}

fn named(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.trim().is_empty())
}

fn as_pathway(o: &Option<PathwayOverride>, from: ReplyOrigin) -> Option<ReplySource> {
    let o = o.as_ref()?;
    Some(ReplySource::Pathway {
        pathway: PathwayChoice {
            pathway_id: named(&o.pathway_id)?,
            version: named(&o.pathway_version),
            start_node_id: named(&o.start_node_id),
        },
        from,
    })
}

/// The precedence written out as a flat list, independently of the implementation.
fn model(l: &ReplyLayers) -> ReplySource {
    let mut candidates = vec![
        as_pathway(&l.send_persona_settings, ReplyOrigin::SendPersonaSettings),
        as_pathway(&l.request_pathway, ReplyOrigin::RequestPathway),
        as_pathway(
            &l.number_persona_settings,
            ReplyOrigin::NumberPersonaSettings,
        ),
    ];
    if let Some(p) = &l.persona {
        for c in &p.conditions {
            candidates.push(as_pathway(&Some(c.clone()), ReplyOrigin::PersonaRouting));
        }
        candidates.push(named(&p.prompt).map(|prompt| ReplySource::Objective {
            prompt,
            from: ReplyOrigin::PersonaPrompt,
        }));
    }
    candidates.push(as_pathway(&l.number_pathway, ReplyOrigin::NumberPathway));
    candidates.push(
        named(&l.number_objective).map(|prompt| ReplySource::Objective {
            prompt,
            from: ReplyOrigin::NumberObjective,
        }),
    );
    candidates
        .into_iter()
        .flatten()
        .next()
        .unwrap_or(ReplySource::Nothing)
}

/// Removes the layer a source came from (for persona routing, the whole persona's routing
/// rules).
fn without(mut l: ReplyLayers, from: ReplyOrigin) -> ReplyLayers {
    match from {
        ReplyOrigin::SendPersonaSettings => l.send_persona_settings = None,
        ReplyOrigin::RequestPathway => l.request_pathway = None,
        ReplyOrigin::NumberPersonaSettings => l.number_persona_settings = None,
        ReplyOrigin::PersonaRouting => {
            if let Some(p) = &mut l.persona {
                p.conditions.clear();
            }
        }
        ReplyOrigin::PersonaPrompt => {
            if let Some(p) = &mut l.persona {
                p.prompt = None;
            }
        }
        ReplyOrigin::NumberPathway => l.number_pathway = None,
        ReplyOrigin::NumberObjective => l.number_objective = None,
    }
    l
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_first_layer_that_names_something_wins(l in layers()) {
        prop_assert_eq!(resolve_reply_source(&l), model(&l));
    }

    #[test]
    fn lower_layers_never_change_a_higher_answer(l in layers(), extra in over(), obj in word()) {
        let got = resolve_reply_source(&l);
        let Some(from) = got.origin() else {
            // Nothing: every layer was absent or blank.
            prop_assert!(model(&l) == ReplySource::Nothing);
            return Ok(());
        };
        // Filling in the number's own layers never overrides anything above them.
        let mut lower = l.clone();
        if from < ReplyOrigin::NumberPathway {
            lower.number_pathway = extra;
        }
        if from < ReplyOrigin::NumberObjective {
            lower.number_objective = obj;
        }
        prop_assert_eq!(resolve_reply_source(&lower), got.clone());
        // Taking the winning layer away hands the choice to a strictly lower layer.
        let next = resolve_reply_source(&without(l, from));
        if let Some(next_from) = next.origin() {
            prop_assert!(next_from > from, "{:?} then {:?}", from, next_from);
        }
    }

    #[test]
    fn a_named_send_override_always_wins(l in layers(), id in "[a-z]{1,6}") {
        let mut l = l;
        l.send_persona_settings = Some(PathwayOverride { pathway_id: Some(id.clone()), ..Default::default() });
        match resolve_reply_source(&l) {
            ReplySource::Pathway { pathway, from } => {
                prop_assert_eq!(from, ReplyOrigin::SendPersonaSettings);
                prop_assert_eq!(pathway.pathway_id, id);
            }
            other => prop_assert!(false, "got {:?}", other),
        }
    }
}
