//! A page of rows (a JSON array of row objects) decoded straight into lake rows.

use std::borrow::Cow;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::domain::row::col;
use crate::domain::{CanonicalRow, SourceKind};
use crate::source::row::{Rejected, RowBuilder};
use crate::source::schema::SourceSchema;

/// A page's rows, parsed: kept rows and rows to quarantine, in the source's order.
pub type PageRows = Vec<Result<CanonicalRow, Rejected>>;

/// Parses one page (a JSON array of row objects) straight into lake rows, one object at a time.
///
/// A page is tens of megabytes and every byte of it is parsed, so this avoids building a `serde_json::Map` per
/// row: keys and values are borrowed from the body where they have no escapes, and each key's meaning is looked
/// up once per position (rows of one page list their fields in the same order).
pub fn parse_page(schema: &SourceSchema, body: &[u8]) -> Result<PageRows, String> {
    struct PageVisitor<'s>(&'s SourceSchema);
    impl<'de> Visitor<'de> for PageVisitor<'_> {
        type Value = PageRows;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of row objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PageRows, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1024));
            let mut keys = KeyCache::default();
            let mut fields: Vec<(JsonText<'de>, JsonField<'de>)> = Vec::with_capacity(32);
            while let Some(()) = seq.next_element_seed(RowSeed { fields: &mut fields })? {
                out.push(row_from_fields(self.0, &mut keys, &mut fields));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let rows = serde::Deserializer::deserialize_seq(&mut de, PageVisitor(schema)).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(rows)
}

/// What a source key means for the lake row.
#[derive(Debug, Clone, Copy)]
enum KeyUse {
    RowId,
    UpdatedAt,
    System,
    Column(usize),
    Extra,
}

fn key_use(schema: &SourceSchema, key: &str) -> KeyUse {
    match key {
        ":id" => KeyUse::RowId,
        ":updated_at" => KeyUse::UpdatedAt,
        k if k.starts_with(':') => KeyUse::System,
        k => match schema.mapping.get(k) {
            Some(&c) if c <= col::LAST_SOURCE => KeyUse::Column(c),
            _ => KeyUse::Extra,
        },
    }
}

/// The meaning of the key last seen at each position of a row object.
#[derive(Default)]
struct KeyCache(Vec<(String, KeyUse)>);

impl KeyCache {
    fn lookup(&mut self, schema: &SourceSchema, position: usize, key: &str) -> KeyUse {
        if let Some((k, u)) = self.0.get(position) {
            if k == key {
                return *u;
            }
        }
        let u = key_use(schema, key);
        if position < self.0.len() {
            self.0[position] = (key.to_string(), u);
        } else if position == self.0.len() {
            self.0.push((key.to_string(), u));
        }
        u
    }
}

/// Builds a lake row from a row object's fields, in document order (a repeated key: the last one wins); drains
/// `fields`.
fn row_from_fields(
    schema: &SourceSchema,
    keys: &mut KeyCache,
    fields: &mut Vec<(JsonText, JsonField)>,
) -> Result<CanonicalRow, Rejected> {
    let mut b = RowBuilder::new(SourceKind::Soda);
    for (i, (k, v)) in fields.iter().enumerate() {
        let text: Cow<str> = match v {
            JsonField::Null => continue,
            JsonField::Text(t) => Cow::Borrowed(t),
            JsonField::Other(o) => Cow::Owned(o.to_string()),
        };
        let text = text.as_ref();
        match keys.lookup(schema, i, &k.0) {
            KeyUse::RowId => b.set_row_id(text),
            KeyUse::UpdatedAt => b.set_updated_at(text),
            KeyUse::System => {}
            KeyUse::Column(c) => b.set(c, text),
            KeyUse::Extra => b.extra(&k.0, text.to_string()),
        }
    }
    let row = b.finish(|| {
        fields
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    JsonField::Null => serde_json::Value::Null,
                    JsonField::Text(t) => serde_json::Value::String(t.to_string()),
                    JsonField::Other(o) => o.clone(),
                };
                (k.0.to_string(), v)
            })
            .collect()
    });
    fields.clear();
    row
}

/// A JSON string, borrowed from the page when it has no escapes.
struct JsonText<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for JsonText<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonText<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonText(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonText(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// One value of a row object: SODA sends strings; other servers may send numbers or nested values.
enum JsonField<'de> {
    Null,
    Text(Cow<'de, str>),
    Other(serde_json::Value),
}

impl<'de> Deserialize<'de> for JsonField<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonField<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Cow::Owned(v.to_string())))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonField::Null)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonField::Null)
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(JsonField::Other(v.into()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(JsonField::Other(v.into()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JsonField::Other(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(JsonField::Other(v.into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(JsonField::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(JsonField::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads one row object into a reused field list.
struct RowSeed<'a, 'de> {
    fields: &'a mut Vec<(JsonText<'de>, JsonField<'de>)>,
}

impl<'de> serde::de::DeserializeSeed<'de> for RowSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a row object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<JsonText<'de>>()? {
            let v = map.next_value::<JsonField<'de>>()?;
            self.fields.push((k, v));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Value;
    use crate::source::fields::NEW_API_FIELDS;

    #[test]
    fn a_page_parses_into_lake_rows_and_rejects_bad_ones() {
        let mut fields: Vec<&str> = NEW_API_FIELDS.to_vec();
        fields.push("census_block_2020");
        let schema = SourceSchema::from_fields(&fields).unwrap();
        let body = br#"[{":id":"row-1",":updated_at":"2026-01-02T03:04:05.678Z","report_number":"2026-906790","report_date_time":"2026-04-20T08:28:24.000","offense_id":"69762952251","latitude":"-1.0","longitude":"-122.33","block_address":"REDACTED","census_block_2020":"6400.3016","precinct":"North"},
        {":id":"row-2","offense_id":"1","report_date_time":"garbage"}]"#;
        let rows = parse_page(&schema, body).unwrap();
        let ok = rows[0].as_ref().unwrap();
        assert_eq!(ok.get(col::SOURCE_ROW_ID), &Value::Text("row-1".into()));
        assert_eq!(ok.get(col::LATITUDE), &Value::Null);
        assert_eq!(ok.get(col::LONGITUDE), &Value::Double(-122.33));
        assert_eq!(ok.get(col::BLOCK_ADDRESS), &Value::Null);
        assert_eq!(ok.get(13), &Value::Text("North".into()));
        assert_eq!(ok.get(col::EXTRA_COLUMNS), &Value::Text(r#"{"census_block_2020":"6400.3016"}"#.into()));
        assert_eq!(ok.get(col::SOURCE_KIND), &Value::Text("soda".into()));
        assert!(ok.get(col::SOURCE_UPDATED_AT).as_timestamp().is_some());
        let bad = rows[1].as_ref().unwrap_err();
        assert!(bad.reason.contains("report_date_time"));
        assert_eq!(bad.row.get(":id").and_then(|v| v.as_str()), Some("row-2"));
        assert!(parse_page(&schema, br#"[{"offense_id":"1"},{"off"#).is_err());
    }

    #[test]
    fn rows_with_other_key_orders_escapes_and_non_string_values_parse_alike() {
        let schema = SourceSchema::from_fields(&NEW_API_FIELDS).unwrap();
        // Three spellings of one row: SODA's, keys reordered with an escaped string, and numbers instead of
        // strings with a nested value and a repeated key (the last one wins, as in a JSON object).
        let body = br#"[
        {":id":"r1","offense_id":"7","report_date_time":"2024-03-05T10:00:00.000","beat":"B2","latitude":"47.61","precinct":null},
        {"beat":"B\u0032","report_date_time":"2024-03-05T10:00:00.000","latitude":"47.61",":id":"r1","offense_id":"7"},
        {":id":"r1","offense_id":7,"report_date_time":"2024-03-05T10:00:00.000","beat":"X","beat":"B2","latitude":47.61,":@computed":{"a":[1]}}
        ]"#;
        let rows = parse_page(&schema, body).unwrap();
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.get(12), &Value::Text("B2".into()));
        assert_eq!(first.get(col::OFFENSE_ID), &Value::Text("7".into()));
        assert_eq!(first.get(col::LATITUDE), &Value::Double(47.61));
        for r in &rows[1..] {
            assert_eq!(r.as_ref().unwrap(), first);
        }
        // A rejected row keeps every field as sent, non-string values included.
        let bad =
            parse_page(&schema, br#"[{":id":"r9","offense_id":9,"report_date_time":"soon","x":{"y":1}}]"#).unwrap();
        let bad = bad[0].as_ref().unwrap_err();
        assert_eq!(bad.row.get("offense_id"), Some(&serde_json::json!(9)));
        assert_eq!(bad.row.get("x"), Some(&serde_json::json!({"y": 1})));
        assert_eq!(bad.row.get("report_date_time"), Some(&serde_json::json!("soon")));
    }
}
