//! `souk build`: runs each component's `[component.<id>.build]` command in its workdir.

use std::path::Path;
use std::process::Command;

use souk_manifest::AppManifest;
use wasmtime::bail;
use wasmtime::error::Context;

pub fn run_builds(manifest_file: &Path) -> wasmtime::Result<()> {
    let manifest = AppManifest::load(manifest_file)?;
    for (id, component) in &manifest.components {
        let Some(build) = &component.build else {
            println!("{id}: no build command, skipping");
            continue;
        };
        println!("Building component {id} with `{}`", build.command);
        let status = Command::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&build.workdir)
            .status()
            .with_context(|| format!("could not start the build command of component `{id}`"))?;
        if !status.success() {
            bail!("{}: component.{id}.build.command: `{}` failed ({status})", manifest.file.display(), build.command);
        }
    }
    println!("Finished building all components");
    Ok(())
}
