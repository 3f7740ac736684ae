//! Generates the Rust code of the public contract in `proto/` without a system `protoc`:
//! protox parses the `.proto` files into a descriptor set, which feeds prost + tonic (messages,
//! clients and servers), pbjson (the canonical protobuf JSON mapping) and gRPC reflection.

use std::error::Error;
use std::path::{Path, PathBuf};

use protox::prost::Message as _;

fn main() -> Result<(), Box<dyn Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?)
        .join("../../proto")
        .canonicalize()?;
    // A directory here makes cargo rerun the script when any file below it changes.
    println!("cargo:rerun-if-changed={}", root.display());

    let mut files = Vec::new();
    collect_protos(&root, &mut files)?;
    // Names relative to the include directory, as `import` statements spell them.
    let mut files: Vec<PathBuf> = files
        .into_iter()
        .map(|f| f.strip_prefix(&root).map(Path::to_path_buf))
        .collect::<Result<_, _>>()?;
    files.sort();
    let fds = protox::compile(&files, [&root])?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_bytes = fds.encode_to_vec();
    std::fs::write(out_dir.join("egov_descriptor.bin"), &descriptor_bytes)?;

    // Well-known types come from pbjson-types rather than prost-types: the same messages, plus
    // the canonical JSON mapping (a Timestamp is an RFC 3339 string).
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_well_known_types(true)
        // prost's codec, except that an undecodable message is INVALID_ARGUMENT (codec.rs).
        .codec_path("crate::codec::Codec")
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(fds)?;

    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .build(&[".egov"])?;
    Ok(())
}

/// Every `.proto` file below `dir`, so a new file needs no change here.
fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
