//! The viewer page (trunk's main rust link).

fn main() {
    tracesieve_viewer::app::start();
}
