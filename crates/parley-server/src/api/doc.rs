//! Pieces of the OpenAPI document that the derive macros cannot say by themselves: shapes
//! that are one of several JSON types. schemathesis checks responses against them, so they
//! must be exact.

use utoipa::openapi::{
    schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type},
    OpenApi, RefOr, Required,
};

/// utoipa writes an optional body (`request_body = Option<T>`) as `oneOf: [null, T]`, which
/// says a JSON `null` body is valid; Parley means "no body, or T" (a body must be an
/// object). The optional part is `required: false`, so the `null` is dropped here.
pub fn optional_bodies_are_not_null(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            let Some(body) = op.request_body.as_mut() else {
                continue;
            };
            if matches!(body.required, Some(Required::True)) {
                continue;
            }
            for content in body.content.values_mut() {
                if let Some(RefOr::T(Schema::OneOf(one))) = &content.schema {
                    let rest: Vec<_> = one.items.iter().filter(|s| !is_null(s)).cloned().collect();
                    if rest.len() == 1 && one.items.len() == 2 {
                        content.schema = rest.into_iter().next();
                    }
                }
            }
        }
    }
}

fn is_null(s: &RefOr<Schema>) -> bool {
    let RefOr::T(Schema::Object(o)) = s else {
        return false;
    };
    serde_json::to_value(&o.schema_type).is_ok_and(|t| t == "null")
}

/// A channel name, as the document lists it (handlers parse the string themselves, to name
/// the field in their error).
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum ChannelDoc {
    sms,
    whatsapp,
    imessage,
}

/// A pathway publish's `environment` as the document lists it (the handler parses the
/// string, to name the field in its error); `""` means the default, `production`.
#[derive(utoipa::ToSchema, serde::Serialize)]
#[allow(dead_code, non_camel_case_types)]
pub enum EnvironmentDoc {
    #[serde(rename = "")]
    default,
    production,
    staging,
}

/// Bland's `request_data` of a number config: an object of variables, or Bland's default
/// where nothing was set, an empty array (`[]`).
pub fn object_or_array() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Object))
        .item(ArrayBuilder::new())
        .description(Some(
            "An object of variables; `[]` (Bland's default) where none are set",
        ))
        .into()
}

/// An array of words that are not blank, or `null` (`ignore_keywords`).
pub fn non_blank_words_or_null() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(
            ArrayBuilder::new().items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"\S")),
            ),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// [`object_or_array`], or `null` (in an update: clear it).
pub fn object_array_or_null() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Object))
        .item(ArrayBuilder::new())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "An object of variables, or an empty array (Bland's default); `null` clears it",
        ))
        .into()
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, path::Path};

    /// Every type deriving `ToSchema` in this crate, by the name it has in the document
    /// (`#[schema(as = …)]`'s last segment, else the type's), with the files declaring it.
    fn schema_names(dir: &Path, out: &mut BTreeMap<String, Vec<String>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                schema_names(&path, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for (i, line) in lines.iter().enumerate() {
                if !(line.starts_with("#[derive(") && line.contains("ToSchema")) {
                    continue;
                }
                let mut alias = None;
                for next in &lines[i + 1..] {
                    if let Some(rest) = next
                        .split("as = ")
                        .nth(1)
                        .filter(|_| next.starts_with("#[schema("))
                    {
                        let name = rest.split([',', ')']).next().unwrap();
                        alias = Some(name.rsplit("::").next().unwrap().trim().to_owned());
                    }
                    if next.starts_with("#[") || next.starts_with("//") {
                        continue;
                    }
                    let decl = next
                        .trim_start_matches("pub(crate) ")
                        .trim_start_matches("pub ");
                    let name = decl
                        .strip_prefix("struct ")
                        .or_else(|| decl.strip_prefix("enum "))
                        .unwrap_or_else(|| panic!("{}: no type after {line}", path.display()));
                    let name = name.split(['<', ' ', '{', '(', ';']).next().unwrap();
                    let name = alias.take().unwrap_or_else(|| name.to_owned());
                    out.entry(name)
                        .or_default()
                        .push(path.display().to_string());
                    break;
                }
            }
        }
    }

    /// utoipa registers components by name and a second type with the same name silently
    /// replaces the first, so the document would describe one response with another's
    /// schema (schemathesis found three such: `StatusOut`, `DeletedOut`, `DeletedEnvelope`).
    #[test]
    fn schema_names_are_unique() {
        let mut names = BTreeMap::new();
        schema_names(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut names,
        );
        assert!(
            names.len() > 100,
            "found only {} schemas: is the scan broken?",
            names.len()
        );
        let dups: Vec<_> = names.iter().filter(|(_, files)| files.len() > 1).collect();
        assert!(
            dups.is_empty(),
            "schema names used by more than one type: {dups:?}"
        );
    }

    #[test]
    fn request_data_shapes_are_one_of() {
        let doc = serde_json::to_value(super::object_or_array()).unwrap();
        assert_eq!(doc["oneOf"].as_array().unwrap().len(), 2, "{doc}");
        let doc = serde_json::to_value(super::object_array_or_null()).unwrap();
        assert_eq!(doc["oneOf"][2]["type"], "null", "{doc}");
    }
}
