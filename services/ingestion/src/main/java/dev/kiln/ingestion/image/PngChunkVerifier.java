package dev.kiln.ingestion.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Checks every PNG chunk's CRC-32 as the bytes stream past (the JDK's PNG reader ignores CRCs). Layout per the
 * PNG specification: 8-byte signature, then chunks of length (4, big-endian), type (4), data, CRC over type+data.
 * Fails with {@link CorruptDataException} on a wrong CRC or a stream that ends inside a chunk.
 */
final class PngChunkVerifier extends FilterInputStream {
    private enum Part { SIGNATURE, LENGTH, TYPE, DATA, CRC, DONE }

    private static final int IEND = 0x49454e44;

    private final CRC32 crc = new CRC32();
    private Part part = Part.SIGNATURE;
    private long remaining = 8;
    private long value;
    private int type;
    private long dataLength;
    private long offset;
    private long chunkStart;

    PngChunkVerifier(InputStream in) {
        super(in);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n < 0) {
            atEnd();
        } else {
            inspect(b, off, n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // read instead of skipping, so that skipped chunks are checked too
        byte[] buffer = new byte[(int) Math.min(n, 8192)];
        int read = read(buffer, 0, buffer.length);
        return Math.max(read, 0);
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    private void inspect(byte[] b, int off, int len) throws IOException {
        int i = off;
        int end = off + len;
        while (i < end && part != Part.DONE) {
            switch (part) {
                case SIGNATURE, DATA -> {
                    int n = (int) Math.min(remaining, end - i);
                    if (part == Part.DATA) {
                        crc.update(b, i, n);
                    }
                    i += n;
                    remaining -= n;
                    if (remaining == 0) {
                        next(part == Part.SIGNATURE ? Part.LENGTH : Part.CRC, 4, offset + (i - off));
                    }
                }
                case LENGTH -> {
                    value = value << 8 | (b[i++] & 0xff);
                    if (--remaining == 0) {
                        if (value > Integer.MAX_VALUE) {
                            throw new CorruptDataException("PNG chunk at byte " + chunkStart + " has an invalid length " + value);
                        }
                        dataLength = value;
                        crc.reset();
                        next(Part.TYPE, 4, 0);
                    }
                }
                case TYPE -> {
                    crc.update(b[i]);
                    type = type << 8 | (b[i++] & 0xff);
                    if (--remaining == 0) {
                        next(dataLength == 0 ? Part.CRC : Part.DATA, dataLength == 0 ? 4 : dataLength, 0);
                    }
                }
                case CRC -> {
                    value = value << 8 | (b[i++] & 0xff);
                    if (--remaining == 0) {
                        if (value != crc.getValue()) {
                            throw new CorruptDataException("PNG chunk " + typeName() + " at byte " + chunkStart
                                    + " fails its CRC check");
                        }
                        if (type == IEND) {
                            part = Part.DONE; // data after IEND is ignored, as decoders do
                        } else {
                            next(Part.LENGTH, 4, offset + (i - off));
                        }
                    }
                }
                default -> throw new IllegalStateException(part.name());
            }
        }
        offset += len;
    }

    /** Moves to the next part; {@code position} (a new chunk's first byte) matters only for LENGTH. */
    private void next(Part nextPart, long bytes, long position) {
        part = nextPart;
        remaining = bytes;
        value = 0;
        if (nextPart == Part.LENGTH) {
            type = 0;
            chunkStart = position;
        }
    }

    /** A missing IEND at a chunk boundary is tolerated (Pillow does too); a cut inside a chunk is not. */
    private void atEnd() throws CorruptDataException {
        boolean atChunkBoundary = part == Part.DONE || part == Part.LENGTH && remaining == 4;
        if (!atChunkBoundary) {
            String where = part == Part.SIGNATURE || part == Part.LENGTH ? "a chunk header" : "chunk " + typeName();
            throw new CorruptDataException("PNG data ends inside " + where + " (truncated at byte " + offset + ")");
        }
    }

    private String typeName() {
        byte[] name = {(byte) (type >>> 24), (byte) (type >>> 16), (byte) (type >>> 8), (byte) type};
        return new String(name, StandardCharsets.ISO_8859_1);
    }
}
