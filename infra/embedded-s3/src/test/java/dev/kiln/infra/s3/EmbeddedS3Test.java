package dev.kiln.infra.s3;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The launcher's job: a real S3 server that answers and enforces authentication. Client-level
 *  behaviour (put/get/multipart) is tested with the MinIO client in the services' storage tests. */
class EmbeddedS3Test {

    @Test
    void serverAnswersAndRejectsUnsignedRequests() throws Exception {
        Path dir = Path.of("target", "embedded-s3-test-" + System.nanoTime());
        try (EmbeddedS3 s3 = EmbeddedS3.start(dir)) {
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(s3.endpoint() + "/")).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(403, response.statusCode(), "anonymous request must be refused: " + response.body());
            assertTrue(response.body().contains("AccessDenied"), response.body());
            long pid = s3.pid();
            s3.close();
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        }
    }
}
