package dev.kiln.service.storage;

import dev.kiln.infra.s3.EmbeddedS3;
import dev.kiln.service.config.TestKilnConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link S3Storage} against a real S3 server (s3proxy, filesystem backend). */
class S3StorageTest {
    private static EmbeddedS3 server;
    private static S3Storage storage;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startServer() {
        server = EmbeddedS3.start(Path.of("target", "test-infra", "s3-" + UUID.randomUUID()));
        storage = new S3Storage(TestKilnConfig.of(server.endpoint(), server.accessKey(), server.secretKey(),
                "storage-test"));
        storage.ensureBucket();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void streamsAnObjectInAndOut() throws IOException {
        byte[] caption = "a photo of sks cat\n".getBytes(StandardCharsets.UTF_8);
        String eTag = storage.put("datasets/cats/10_sks cat/1.txt", new ByteArrayInputStream(caption),
                caption.length, "text/plain");

        ObjectInfo info = storage.stat("datasets/cats/10_sks cat/1.txt");
        assertEquals(caption.length, info.size());
        assertEquals(eTag, info.eTag());
        assertEquals(md5Hex(caption), info.eTag(), "a single-part ETag is the MD5 of the content");
        assertEquals("text/plain", info.contentType());
        try (InputStream in = storage.get("datasets/cats/10_sks cat/1.txt")) {
            assertArrayEquals(caption, in.readAllBytes());
        }
    }

    @Test
    void uploadsAStreamOfUnknownSizeInParts() throws Exception {
        long size = 20L * 1024 * 1024 + 123;  // more than one 16 MiB part
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        String eTag = storage.put("outputs/job/big.safetensors", new RandomStream(size, 7, sent), -1, null);
        assertTrue(eTag.endsWith("-2"), "multipart ETag with 2 parts expected, got " + eTag);

        Path file = tmp.resolve("out/big.safetensors");
        storage.getToFile("outputs/job/big.safetensors", file);
        assertEquals(size, Files.size(file));
        assertArrayEquals(sent.digest(), MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        assertEquals(size, storage.stat("outputs/job/big.safetensors").size());
    }

    @Test
    void putsAndGetsFilesUnderKeysWithSpacesAndUnicode() throws IOException {
        Path source = tmp.resolve("src.bin");
        byte[] content = new byte[300_000];
        new Random(1).nextBytes(content);
        Files.write(source, content);
        String key = "datasets/fêtes/5_ünï cat/photo 1+2.png";

        storage.putFile(key, source, "image/png");
        Path target = tmp.resolve("copy.png");
        Files.writeString(target, "stale");
        storage.getToFile(key, target);

        assertArrayEquals(content, Files.readAllBytes(target));
        assertEquals("image/png", storage.stat(key).contentType());
        try (var files = Files.list(tmp)) {
            assertEquals(List.of("copy.png", "src.bin"), files.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no partial download left behind");
        }
    }

    @Test
    void listsObjectsWithSizeAndETagAndDeletes() {
        byte[] a = {1, 2, 3};
        storage.put("jobs/list-test/job.toml", new ByteArrayInputStream(a), a.length, "application/toml");
        storage.put("jobs/list-test/sub/deeper.txt", new ByteArrayInputStream(a), a.length, null);

        List<ObjectInfo> all = storage.list("jobs/list-test/", true);
        assertEquals(List.of("jobs/list-test/job.toml", "jobs/list-test/sub/deeper.txt"),
                all.stream().map(ObjectInfo::key).sorted().toList());
        ObjectInfo toml = all.stream().filter(o -> o.key().endsWith("job.toml")).findFirst().orElseThrow();
        assertEquals(3, toml.size());
        assertEquals(md5Hex(a), toml.eTag());
        assertTrue(toml.lastModified() != null);

        assertEquals(List.of("jobs/list-test/job.toml"),
                storage.list("jobs/list-test/", false).stream().map(ObjectInfo::key).toList());

        storage.delete("jobs/list-test/job.toml");
        assertFalse(storage.exists("jobs/list-test/job.toml"));
        storage.delete("jobs/list-test/job.toml");  // deleting twice is fine, as in S3
        assertEquals(1, storage.list("jobs/list-test/", true).size());
    }

    @Test
    void aMissingObjectIsNotFoundAndNamesBucketAndKey() {
        StorageException e = assertThrows(StorageException.class, () -> storage.stat("datasets/none/missing.png"));
        assertTrue(e.isNotFound());
        assertTrue(e.getMessage().contains("s3://storage-test/datasets/none/missing.png"), e.getMessage());

        StorageException get = assertThrows(StorageException.class, () -> storage.get("datasets/none/missing.png"));
        assertTrue(get.isNotFound());
        assertTrue(get.getMessage().contains("NoSuchKey"), get.getMessage());
        assertFalse(storage.exists("datasets/none/missing.png"));
    }

    @Test
    void wrongCredentialsFailNamingTheKeyButNotTheCredentials() {
        // (that a 4xx is not retried is counted request by request in S3StorageRetryTest)
        String wrongSecret = "not-the-secret-" + UUID.randomUUID();
        S3Storage denied = new S3Storage(TestKilnConfig.of(server.endpoint(), server.accessKey(), wrongSecret,
                "storage-test"));

        StorageException e = assertThrows(StorageException.class, () -> denied.stat("jobs/x/job.toml"));

        assertFalse(e.isNotFound());
        assertTrue(e.getMessage().contains("s3://storage-test/jobs/x/job.toml"), e.getMessage());
        assertFalse(e.getMessage().contains(wrongSecret), e.getMessage());
        assertFalse(e.getMessage().contains(server.accessKey()), e.getMessage());
    }

    @Test
    void probeReportsAMissingBucket() {
        S3Storage other = new S3Storage(TestKilnConfig.of(server.endpoint(), server.accessKey(), server.secretKey(),
                "no-such-bucket-" + UUID.randomUUID().toString().substring(0, 8)));
        assertFalse(other.probeBucket());
        assertTrue(storage.probeBucket());
    }

    private static String md5Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code size} pseudo-random bytes made on the fly (never held whole), digested as they are read. */
    private static final class RandomStream extends InputStream {
        private final Random random;
        private final MessageDigest digest;
        private long left;

        RandomStream(long size, long seed, MessageDigest digest) {
            this.left = size;
            this.random = new Random(seed);
            this.digest = digest;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (left <= 0) {
                return -1;
            }
            int n = (int) Math.min(len, left);
            byte[] chunk = new byte[n];
            random.nextBytes(chunk);
            System.arraycopy(chunk, 0, b, off, n);
            digest.update(chunk);
            left -= n;
            return n;
        }
    }
}
