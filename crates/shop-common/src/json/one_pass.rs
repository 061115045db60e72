//! The typed read that refuses a key given twice as it goes, so a good body
//! is read once rather than walked for duplicates and then read.
//!
//! serde_json hands the type's visitor each object as a `MapAccess`; here
//! every deserializer, visitor, map, sequence and enum serde_json passes on
//! is wrapped, so that each object's keys are caught as the type reads them
//! (whatever it reads them as: a struct's field, a map's `String`, a value
//! it ignores) and compared with the object's earlier keys. The wrappers
//! only watch: every call goes on to serde_json unchanged, so the value and
//! the errors are serde_json's own, except that an ignored value is visited
//! instead of skipped (as the walk in `duplicates` always did).
//!
//! What the wrappers cannot see is flagged, not guessed at: a key a type
//! reads as something other than a string (a map with number keys, say),
//! or a value serde_json hands over raw. [`Read::Unchecked`] says so, and
//! the caller walks the body for duplicates as well.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

use super::duplicates::ObjectKeys;

/// A body that read well as its type, with nothing after it.
pub(super) enum Read<T> {
    /// Every object's keys were seen, and none was given twice.
    Checked(T),
    /// Some keys were not seen; a key may still be given twice.
    Unchecked(T),
}

/// Reads `text` as a `T`, refusing keys given twice. `None` for any body
/// that did not read well (a syntax error, a type error, a key twice,
/// something after the value): the caller finds out which, and says so.
pub(super) fn read<T: DeserializeOwned>(text: &str) -> Option<Read<T>> {
    let pass = Pass::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Strict { de: &mut de, ctx: &pass }).ok()?;
    de.end().ok()?;
    Some(if pass.unseen.get() { Read::Unchecked(value) } else { Read::Checked(value) })
}

/// What one read keeps beside the value.
#[derive(Default)]
struct Pass<'de> {
    /// The keys of the objects being read, outermost first: each object
    /// pushes its own and takes them off again when it ends, so one stack
    /// serves the whole body. Keys are borrowed from it unless escaped.
    keys: RefCell<Vec<Cow<'de, str>>>,
    /// A key went by that was not caught.
    unseen: Cell<bool>,
}

/// Calls `$de`'s methods with the visitor wrapped in `$visitor { visitor, ctx }`.
macro_rules! forward_deserialize {
    ($visitor:ident; $($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
                self.de.$method($($arg,)* $visitor { visitor, ctx: self.ctx })
            }
        )*
    };
    ($visitor:ident) => {
        forward_deserialize! { $visitor;
            deserialize_any(); deserialize_bool();
            deserialize_i8(); deserialize_i16(); deserialize_i32(); deserialize_i64(); deserialize_i128();
            deserialize_u8(); deserialize_u16(); deserialize_u32(); deserialize_u64(); deserialize_u128();
            deserialize_f32(); deserialize_f64(); deserialize_char(); deserialize_str(); deserialize_string();
            deserialize_bytes(); deserialize_byte_buf(); deserialize_option(); deserialize_unit();
            deserialize_unit_struct(name: &'static str); deserialize_seq(); deserialize_tuple(len: usize);
            deserialize_tuple_struct(name: &'static str, len: usize); deserialize_map();
            deserialize_struct(name: &'static str, fields: &'static [&'static str]);
            deserialize_enum(name: &'static str, variants: &'static [&'static str]); deserialize_identifier();
        }
        fn is_human_readable(&self) -> bool {
            self.de.is_human_readable()
        }
    };
}

/// Passes a visitor's scalar visits on unchanged.
macro_rules! forward_visits {
    () => {
        forward_visits! {
            visit_bool(bool); visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64); visit_i128(i128);
            visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64); visit_u128(u128);
            visit_f32(f32); visit_f64(f64); visit_char(char);
            visit_bytes(&[u8]); visit_borrowed_bytes(&'de [u8]); visit_byte_buf(Vec<u8>);
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            self.visitor.visit_none()
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.visitor.visit_unit()
        }
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            self.visitor.expecting(f)
        }
    };
    ($($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.visitor.$method(v)
            }
        )*
    };
}

/// serde_json's deserializer for one value, whose objects are checked.
struct Strict<'p, 'de, D> {
    de: D,
    ctx: &'p Pass<'de>,
}

impl<'p, 'de, D: Deserializer<'de>> Deserializer<'de> for Strict<'p, 'de, D> {
    type Error = D::Error;

    forward_deserialize!(Watch);

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        // serde_json's raw values come this way and are never visited.
        if name.starts_with("$serde_json") {
            self.ctx.unseen.set(true);
            return self.de.deserialize_newtype_struct(name, visitor);
        }
        self.de.deserialize_newtype_struct(name, Watch { visitor, ctx: self.ctx })
    }

    /// serde_json skips an ignored value without looking inside; it is
    /// visited instead, so its objects are checked too.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_any(Watch { visitor, ctx: self.ctx })
    }
}

/// A type's visitor, handed checked maps (and wrapped everything that
/// leads to one).
struct Watch<'p, 'de, V> {
    visitor: V,
    ctx: &'p Pass<'de>,
}

impl<'p, 'de, V: Visitor<'de>> Visitor<'de> for Watch<'p, 'de, V> {
    type Value = V::Value;

    forward_visits!();
    forward_visits! { visit_str(&str); visit_borrowed_str(&'de str); visit_string(String); }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.visitor.visit_some(Strict { de, ctx: self.ctx })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.visitor.visit_newtype_struct(Strict { de, ctx: self.ctx })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_seq(Watch { visitor: seq, ctx: self.ctx })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let seen = ObjectKeys::new(&self.ctx.keys.borrow());
        self.visitor.visit_map(Object { map, ctx: self.ctx, seen })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_enum(Watch { visitor: data, ctx: self.ctx })
    }
}

/// A seed whose value is read through [`Strict`].
struct Seed<'p, 'de, S> {
    seed: S,
    ctx: &'p Pass<'de>,
}

impl<'p, 'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'p, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Strict { de, ctx: self.ctx })
    }
}

impl<'p, 'de, A: SeqAccess<'de>> SeqAccess<'de> for Watch<'p, 'de, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        self.visitor.next_element_seed(Seed { seed, ctx: self.ctx })
    }

    fn size_hint(&self) -> Option<usize> {
        self.visitor.size_hint()
    }
}

impl<'p, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Watch<'p, 'de, A> {
    type Error = A::Error;
    type Variant = Watch<'p, 'de, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.visitor.variant_seed(seed)?;
        Ok((value, Watch { visitor: variant, ctx: self.ctx }))
    }
}

impl<'p, 'de, A: VariantAccess<'de>> VariantAccess<'de> for Watch<'p, 'de, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.visitor.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.visitor.newtype_variant_seed(Seed { seed, ctx: self.ctx })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.visitor.tuple_variant(len, Watch { visitor, ctx: self.ctx })
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, A::Error> {
        self.visitor.struct_variant(fields, Watch { visitor, ctx: self.ctx })
    }
}

/// One object as its type reads it: each key is caught and compared with
/// the object's earlier keys before the type sees it.
struct Object<'p, 'de, A> {
    map: A,
    ctx: &'p Pass<'de>,
    seen: ObjectKeys<'de>,
}

impl<'de, A> Object<'_, 'de, A> {
    /// Records `key`; false if the object had it already.
    fn first_time(&mut self, key: Cow<'de, str>) -> bool {
        let mut stack = self.ctx.keys.borrow_mut();
        if self.seen.contains(&stack, &key) {
            return false;
        }
        self.seen.insert(&mut stack, key);
        true
    }
}

impl<'de, A> Drop for Object<'_, 'de, A> {
    /// The object's keys come off the stack however its read ended.
    fn drop(&mut self) {
        self.seen.end(&mut self.ctx.keys.borrow_mut());
    }
}

impl<'p, 'de, A: MapAccess<'de>> MapAccess<'de> for Object<'p, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        let mut caught = None;
        let Some(key) = self.map.next_key_seed(CatchKey { seed, ctx: &mut caught })? else {
            return Ok(None);
        };
        match caught {
            Some(name) => {
                if !self.first_time(name) {
                    // Never shown: the caller's walk names the key and where.
                    return Err(de::Error::custom("duplicate key"));
                }
            }
            None => self.ctx.unseen.set(true),
        }
        Ok(Some(key))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(Seed { seed, ctx: self.ctx })
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A key's seed, whose deserializer keeps the key's text as it goes by.
struct CatchKey<'k, 'de, S> {
    seed: S,
    ctx: &'k mut Option<Cow<'de, str>>,
}

impl<'k, 'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for CatchKey<'k, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(KeyText { de, ctx: self.ctx })
    }
}

/// serde_json's deserializer for a key.
struct KeyText<'k, 'de, D> {
    de: D,
    ctx: &'k mut Option<Cow<'de, str>>,
}

impl<'k, 'de, D: Deserializer<'de>> Deserializer<'de> for KeyText<'k, 'de, D> {
    type Error = D::Error;

    forward_deserialize!(KeepKey);
    forward_deserialize! { KeepKey; deserialize_newtype_struct(name: &'static str); deserialize_ignored_any(); }
}

/// A key's visitor, keeping the key's text as it passes it on.
struct KeepKey<'k, 'de, V> {
    visitor: V,
    ctx: &'k mut Option<Cow<'de, str>>,
}

impl<'k, 'de, V: Visitor<'de>> Visitor<'de> for KeepKey<'k, 'de, V> {
    type Value = V::Value;

    forward_visits!();

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<V::Value, E> {
        *self.ctx = Some(Cow::Borrowed(key));
        self.visitor.visit_borrowed_str(key)
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<V::Value, E> {
        *self.ctx = Some(Cow::Owned(key.to_owned()));
        self.visitor.visit_str(key)
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<V::Value, E> {
        *self.ctx = Some(Cow::Owned(key.clone()));
        self.visitor.visit_string(key)
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(KeyText { de, ctx: self.ctx })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(KeyText { de, ctx: self.ctx })
    }

    // A JSON key is a string: serde_json never hands these to a key's
    // visitor, and if it did the key would go uncaught (and be flagged).
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(data)
    }
}
