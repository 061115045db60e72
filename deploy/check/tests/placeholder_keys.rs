//! The committed souk-keys Secret holds placeholders only, and the shop
//! itself refuses each of them (the components' own rules, as
//! `shop-keys check` applies them), so a deployment that keeps them fails
//! loudly instead of running with a published key.

use deploy_check::manifests::{self, Document};
use deploy_check::spinkube_dir;
use shop_common::keys::{self, ADMIN_PASSWORD, JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, PublicKeys, RATE_LIMIT_KEY, SigningKey};

fn keys_secret() -> Document {
    let docs = manifests::load_dir(&spinkube_dir()).unwrap();
    manifests::find(&docs, "Secret", "souk-keys").expect("the souk-keys Secret").clone()
}

#[test]
fn every_placeholder_key_is_refused_by_the_shop() {
    let secret = keys_secret();
    let value = |name: &str| manifests::secret_string(&secret, name).unwrap_or_else(|| panic!("souk-keys has no {name}"));
    assert!(SigningKey::parse(value(JWT_SIGNING_KEY)).is_err());
    assert!(PublicKeys::parse(value(JWT_PUBLIC_KEYS)).is_err());
    assert!(keys::rate_limit_key(value(RATE_LIMIT_KEY)).is_err());
    assert!(users::service::check_admin_password(value(ADMIN_PASSWORD)).is_err());
}

#[test]
fn the_keys_secret_is_out_of_the_folder_kubectl_applies() {
    let secret = keys_secret();
    assert_ne!(secret.file.parent(), Some(spinkube_dir().as_path()), "`kubectl apply -f deploy/spinkube/` must not put placeholders over real keys");
}
