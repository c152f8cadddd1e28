// Rust provoker: each mode unwraps one real error, so the panic message is printed on stderr.
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args[1].as_str() {
        "refused" => { TcpStream::connect(format!("127.0.0.1:{}", args[2])).unwrap(); }
        "connect-timeout" => {
            let addr: SocketAddr = format!("127.0.0.1:{}", args[2]).parse().unwrap();
            TcpStream::connect_timeout(&addr, Duration::from_millis(300)).unwrap();
        }
        "file" => { std::fs::read_to_string("/var/lib/agent/config.json").expect("failed to read config"); }
        "parse" => { let n: u32 = "12.5k".parse().unwrap(); println!("{}", n); }
        _ => {}
    }
}
