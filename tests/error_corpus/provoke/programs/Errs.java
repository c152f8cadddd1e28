// Java provoker: each mode lets one real exception go uncaught, so the JVM prints it on stderr.
import java.net.*;
import java.net.http.*;
import java.nio.file.*;
import java.time.Duration;

public class Errs {
    static int depth(int n) { return depth(n + 1) + 1; }
    public static void main(String[] a) throws Exception {
        String mode = a[0];
        switch (mode) {
            case "refused": new Socket("127.0.0.1", Integer.parseInt(a[1])).close(); break;
            case "connect-timeout": { Socket s = new Socket(); s.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(a[1])), 300); break; }
            case "read-timeout": { Socket s = new Socket("127.0.0.1", Integer.parseInt(a[1])); s.setSoTimeout(300); s.getInputStream().read(); break; }
            case "http-timeout": HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(a[1])).timeout(Duration.ofMillis(300)).build(), HttpResponse.BodyHandlers.ofString()); break;
            case "tls": HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(a[1])).build(), HttpResponse.BodyHandlers.ofString()); break;
            case "file": Files.readString(Path.of("/var/lib/agent/config.json")); break;
            case "stack": depth(0); break;
            case "heap": { java.util.List<long[]> l = new java.util.ArrayList<>(); for (;;) l.add(new long[1 << 20]); }
            case "number": Integer.parseInt("12.5k"); break;
        }
    }
}
