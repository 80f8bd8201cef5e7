//! Scratch: generate a folder of specs to stdout (development aid).
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_default();
    let mut files = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = e.path();
        files.push(codegen::SourceFile {
            path: p.display().to_string(),
            text: std::fs::read_to_string(&p).unwrap_or_default(),
        });
    }
    match codegen::generate(&files, &codegen::Options::default()) {
        Ok(g) => {
            eprint!("{}", g.warnings);
            for (k, v) in g.files {
                println!("=== {k}\n{v}");
            }
        }
        Err(d) => eprint!("{d}"),
    }
}
