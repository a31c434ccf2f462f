//! The 3D twin of the district for the control room's big screen (not built yet: see the README).

fn main() {
    eprintln!("twin: the 3D twin is not built yet; see the README's status section");
    std::process::exit(2);
}
