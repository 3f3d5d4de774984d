package dev.kiln.ingestion.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Counts and hashes (SHA-256) every byte read, and fails with {@link ObjectTooLargeException} once there are
 * more than a limit; failures of the stream itself come out as {@link SourceReadException}. Skips are reads, so nothing escapes the count or the hash (unlike DigestInputStream).
 */
final class MeteredInputStream extends FilterInputStream {
    private final long limit;
    private final MessageDigest sha256;
    private long count;

    MeteredInputStream(InputStream in, long limit) {
        super(in);
        this.limit = limit;
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** Bytes read so far. */
    long count() {
        return count;
    }

    /** Lower-case hex SHA-256 of the bytes read so far; call once, at the end. */
    String sha256Hex() {
        return HexFormat.of().formatHex(sha256.digest());
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        // never ask for more than one byte past the limit, so an endless stream stops right there
        int n;
        try {
            n = in.read(b, off, (int) Math.min(len, limit + 1 - count));
        } catch (IOException e) {
            throw new SourceReadException(e);
        }
        if (n > 0) {
            sha256.update(b, off, n);
            count += n;
            if (count > limit) {
                throw new ObjectTooLargeException(limit);
            }
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buffer = new byte[(int) Math.min(Math.max(n, 0), 8192)];
        return Math.max(read(buffer, 0, buffer.length), 0);
    }

    @Override
    public boolean markSupported() {
        return false;
    }
}
