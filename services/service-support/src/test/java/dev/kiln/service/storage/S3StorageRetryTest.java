package dev.kiln.service.storage;

import com.sun.net.httpserver.HttpServer;
import dev.kiln.service.config.TestKilnConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Retry behaviour on failures a healthy test server never produces (503 SlowDown, 500), served by a small
 * local HTTP server that answers like S3: the first {@code failures} requests fail, the rest succeed.
 */
class S3StorageRetryTest {
    private static final String SECRET = "retry-test-secret-key";
    private HttpServer server;
    private final AtomicInteger requests = new AtomicInteger();
    private volatile int failures;
    private volatile int failureStatus;
    private volatile String failureCode;

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            int n = requests.incrementAndGet();
            byte[] body;
            if (n <= failures) {
                body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + failureCode
                        + "</Code><Message>try later</Message><Resource>" + exchange.getRequestURI().getPath()
                        + "</Resource><RequestId>r" + n + "</RequestId><HostId>h</HostId></Error>")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/xml");
                exchange.sendResponseHeaders(failureStatus, body.length);
            } else {
                body = "hello".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "text/plain");
                exchange.getResponseHeaders().add("ETag", "\"5d41402abc4b2a76b9719d911017c592\"");
                exchange.getResponseHeaders().add("Last-Modified", "Wed, 25 Nov 2026 10:00:00 GMT");
                exchange.sendResponseHeaders(200, body.length);
            }
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    private S3Storage storage(int maxAttempts) {
        String endpoint = "http://127.0.0.1:" + server.getAddress().getPort();
        return new S3Storage(TestKilnConfig.of(endpoint, "retry-access", SECRET, "retry-bucket")
                .withRetries(maxAttempts, Duration.ofMillis(10)));
    }

    @Test
    void slowDownIsRetriedUntilTheStoreAnswers() throws IOException {
        failures = 2;
        failureStatus = 503;
        failureCode = "SlowDown";
        try (InputStream in = storage(4).get("datasets/a/1_x/img.png")) {
            assertEquals("hello", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertEquals(3, requests.get());
    }

    @Test
    void aServerErrorThatPersistsFailsAfterTheLastAttempt() {
        failures = 100;
        failureStatus = 500;
        failureCode = "InternalError";
        StorageException e = assertThrows(StorageException.class, () -> storage(3).get("jobs/j/job.toml"));
        assertEquals(3, requests.get());
        assertTrue(e.getMessage().contains("s3://retry-bucket/jobs/j/job.toml"), e.getMessage());
        assertTrue(e.getMessage().contains("InternalError"), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET));
    }

    @Test
    void clientErrorsAreNotRetried() {
        failures = 100;
        failureStatus = 403;
        failureCode = "AccessDenied";
        StorageException e = assertThrows(StorageException.class, () -> storage(4).get("jobs/j/job.toml"));
        assertEquals(1, requests.get());
        assertTrue(e.getMessage().contains("AccessDenied"), e.getMessage());
    }

    @Test
    void anUnreachableStoreIsRetriedAndNamed() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        String endpoint = "http://127.0.0.1:" + closedPort;
        S3Storage unreachable = new S3Storage(TestKilnConfig.of(endpoint, "retry-access", SECRET, "retry-bucket")
                .withRetries(3, Duration.ofMillis(100)));
        long start = System.nanoTime();
        StorageException e = assertThrows(StorageException.class, () -> unreachable.stat("jobs/j/job.toml"));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 300, "two backoffs of 100 and 200 ms expected, took " + millis + " ms");
        assertTrue(e.getMessage().contains("cannot reach " + endpoint), e.getMessage());
        assertTrue(e.getCause() instanceof IOException);
    }
}
