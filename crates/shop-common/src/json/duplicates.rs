//! The walk that finds keys given twice anywhere in a JSON value, and names
//! where: the reference check, run on its own where the typed read's own
//! check (`one_pass`) stopped or could not see every key.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON value walked for keys given twice. It runs before every body is
/// read, so it allocates nothing on the way: keys are borrowed from the
/// body (unless escaped), one stack of keys serves every object, and where
/// a value sits ([`Place`]) becomes a path only for an error.
pub(super) struct Checked<'p, 'k, 'de> {
    place: Place<'p>,
    /// The keys of the objects being walked, outermost first; each object
    /// pushes its own and takes them off again when it ends.
    keys: &'k mut Vec<Cow<'de, str>>,
}

/// Above this many keys, an object's duplicates are found through a hash
/// set instead of by comparing each key with those before it.
pub(super) const LINEAR_SCAN_KEYS: usize = 32;

impl<'de> Checked<'_, '_, 'de> {
    /// Walks the whole of `de`'s value.
    pub(super) fn walk<D: Deserializer<'de>>(de: D) -> Result<(), D::Error> {
        Checked { place: Place::Top, keys: &mut Vec::new() }.deserialize(de)
    }
}

/// Where a value sits: a chain of keys and indices up to the body's value.
#[derive(Clone, Copy)]
enum Place<'a> {
    Top,
    Key(&'a Place<'a>, &'a str),
    Index(&'a Place<'a>, usize),
}

impl Place<'_> {
    /// `items[0].card`; empty for the body's value itself.
    fn path(&self) -> String {
        match self {
            Place::Top => String::new(),
            Place::Key(Place::Top, key) => (*key).to_owned(),
            Place::Key(parent, key) => format!("{}.{key}", parent.path()),
            Place::Index(parent, index) => format!("{}[{index}]", parent.path()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Place::Top => "the top-level object".to_owned(),
            _ => format!("`{}`", self.path()),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Checked<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq.next_element_seed(Checked { place: Place::Index(&self.place, index), keys: &mut *self.keys })?.is_some() {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = ObjectKeys::new(self.keys);
        let result = (|| {
            while let Some(key) = map.next_key_seed(Key)? {
                if seen.contains(self.keys, &key) {
                    // The value is read first so the error points past it.
                    map.next_value::<IgnoredAny>()?;
                    return Err(de::Error::custom(format!("duplicate key {:?} in {}", &*key, self.place.describe())));
                }
                map.next_value_seed(Checked { place: Place::Key(&self.place, &key), keys: &mut *self.keys })?;
                seen.insert(self.keys, key);
            }
            Ok(())
        })();
        seen.end(self.keys);
        result
    }
}

/// The keys one object has shown so far, on a stack shared by the objects
/// being read (from `start` on) while they are few, in a hash set of the
/// object's own past [`LINEAR_SCAN_KEYS`]. Both this walk and `one_pass`
/// keep their objects' keys this way.
pub(super) struct ObjectKeys<'de> {
    start: usize,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> ObjectKeys<'de> {
    /// An object starting on `stack`.
    pub(super) fn new(stack: &[Cow<'de, str>]) -> Self {
        ObjectKeys { start: stack.len(), many: None }
    }

    pub(super) fn contains(&self, stack: &[Cow<'de, str>], key: &str) -> bool {
        match &self.many {
            Some(set) => set.contains(key),
            None => stack[self.start..].iter().any(|k| k == key),
        }
    }

    pub(super) fn insert(&mut self, stack: &mut Vec<Cow<'de, str>>, key: Cow<'de, str>) {
        match &mut self.many {
            Some(set) => {
                set.insert(key);
            }
            None if stack.len() - self.start < LINEAR_SCAN_KEYS => stack.push(key),
            None => {
                let mut set: HashSet<_> = stack.drain(self.start..).collect();
                set.insert(key);
                self.many = Some(set);
            }
        }
    }

    /// Takes the object's keys off the stack.
    pub(super) fn end(&self, stack: &mut Vec<Cow<'de, str>>) {
        stack.truncate(self.start);
    }
}

/// An object's key, borrowed from the body unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}
