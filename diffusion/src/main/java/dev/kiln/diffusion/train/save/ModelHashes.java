package dev.kiln.diffusion.train.save;

import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The hashes sd-scripts stores in metadata. For a base model or VAE file (train_util.py model_hash,
 * calculate_sha256): the legacy webui hash, SHA-256 of the 64 KiB at offset 1 MiB cut to 8 hex digits, and the
 * full-file SHA-256. For a LoRA (precalculate_safetensors_hashes): the same two over the file's serialization.
 */
public final class ModelHashes {
    /** Where the legacy hash window starts and how long it is. */
    static final int LEGACY_OFFSET = 0x100000;
    static final int LEGACY_LENGTH = 0x10000;

    private ModelHashes() {}

    /** {@code sshs_model_hash} and {@code sshs_legacy_hash} of a LoRA file. */
    public record SafetensorsHashes(String modelHash, String legacyHash) {}

    /**
     * train_util.model_hash: the first 8 hex digits of the SHA-256 of bytes [1 MiB, 1 MiB + 64 KiB) (fewer, or none,
     * for a shorter file); "NOFILE" when the file does not exist, "IsADirectory" for a folder (a diffusers model)
     * or an unreadable file, as sd-scripts writes them.
     */
    public static String legacyFileHash(Path file) {
        return fileHash(file, true);
    }

    /** train_util.calculate_sha256: the full file's SHA-256 in hex, with the same "NOFILE" / "IsADirectory". */
    public static String sha256File(Path file) {
        return fileHash(file, false);
    }

    private static String fileHash(Path file, boolean legacy) {
        if (Files.isDirectory(file)) {
            return "IsADirectory";
        }
        MessageDigest digest = sha256();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
            long position = legacy ? LEGACY_OFFSET : 0;
            long remaining = legacy ? LEGACY_LENGTH : Long.MAX_VALUE;
            while (remaining > 0) {
                buffer.clear();
                if (remaining < buffer.capacity()) {
                    buffer.limit((int) remaining);
                }
                int n = channel.read(buffer, position);
                if (n <= 0) {
                    break;
                }
                digest.update(buffer.array(), 0, n);
                position += n;
                remaining -= n;
            }
        } catch (NoSuchFileException e) {
            return "NOFILE";
        } catch (AccessDeniedException e) {
            return "IsADirectory";
        } catch (IOException e) {
            throw new UncheckedIOException("cannot hash " + file + ": " + e.getMessage(), e);
        }
        String hex = HexFormat.of().formatHex(digest.digest());
        return legacy ? hex.substring(0, 8) : hex;
    }

    /**
     * The hashes of {@code writer}'s serialization, computed while streaming it (no file, no copy in memory):
     * SHA-256 of the data section (every byte after the header) and the legacy hash of bytes [1 MiB, 1 MiB + 64 KiB)
     * of the whole serialization, header included.
     */
    public static SafetensorsHashes ofSerialization(SafeTensorsWriter writer) {
        HashingStream stream = new HashingStream(writer.headerBytes().length);
        try {
            writer.writeTo(stream);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a digest stream does not fail
        }
        return stream.hashes();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Feeds the data section into one digest and the legacy window into another. */
    private static final class HashingStream extends OutputStream {
        private final long dataStart;
        private final MessageDigest data = sha256();
        private final MessageDigest window = sha256();
        private long position;

        HashingStream(long dataStart) {
            this.dataStart = dataStart;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            long start = position;
            long end = position + len;
            long from = Math.max(start, dataStart);
            if (from < end) {
                data.update(b, off + (int) (from - start), (int) (end - from));
            }
            long windowFrom = Math.max(start, LEGACY_OFFSET);
            long windowTo = Math.min(end, (long) LEGACY_OFFSET + LEGACY_LENGTH);
            if (windowFrom < windowTo) {
                window.update(b, off + (int) (windowFrom - start), (int) (windowTo - windowFrom));
            }
            position = end;
        }

        SafetensorsHashes hashes() {
            return new SafetensorsHashes(HexFormat.of().formatHex(data.digest()),
                    HexFormat.of().formatHex(window.digest()).substring(0, 8));
        }
    }
}
