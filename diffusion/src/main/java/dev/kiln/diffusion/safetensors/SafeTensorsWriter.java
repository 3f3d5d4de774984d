package dev.kiln.diffusion.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Writes a safetensors file with {@code __metadata__}, in F32, F16, BF16 (floating point) or I64.
 *
 * <p>Tensors are declared first (name, dtype, shape and a source of values) and their values are fetched one tensor at
 * a time while writing, so only one tensor's data is held in memory. The file is written next to its target and moved
 * into place at the end, so a reader never sees a half-written file.
 */
public final class SafeTensorsWriter {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK_BYTES = 1 << 20;

    private record Entry(String name, DType dtype, long[] shape, Supplier<float[]> floats, Supplier<long[]> longs) {
    }

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Entry> entries = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    /** Adds one {@code __metadata__} entry (kohya's {@code ss_*} keys, {@code format}, ...). */
    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public SafeTensorsWriter metadata(Map<String, String> values) {
        metadata.putAll(values);
        return this;
    }

    /** Adds an array in its own precision: F16 stays F16, other float types become F32, integer types I64. */
    public SafeTensorsWriter add(String name, NDArray array) {
        DataType type = array.getDataType();
        DType dtype = type == DataType.FLOAT16 ? DType.F16 : type.isFloating() ? DType.F32 : DType.I64;
        return add(name, array, dtype);
    }

    /** Adds an array converted to {@code dtype}; values are copied out of the array when the file is written. */
    public SafeTensorsWriter add(String name, NDArray array, DType dtype) {
        long[] shape = array.getShape().getShape();
        if (dtype.isFloatingPoint()) {
            return addFloats(name, dtype, shape, () -> {
                if (array.getDataType() == DataType.FLOAT32) {
                    return array.toFloatArray();
                }
                try (NDArray f = array.toType(DataType.FLOAT32, true)) {
                    return f.toFloatArray();
                }
            });
        }
        return addLongs(name, shape, () -> {
            if (array.getDataType() == DataType.INT64) {
                return array.toLongArray();
            }
            try (NDArray l = array.toType(DataType.INT64, true)) {
                return l.toLongArray();
            }
        });
    }

    public SafeTensorsWriter addFloats(String name, DType dtype, long[] shape, float[] values) {
        return addFloats(name, dtype, shape, () -> values);
    }

    /** Declares a floating-point tensor whose values are produced only when the file is written. */
    public SafeTensorsWriter addFloats(String name, DType dtype, long[] shape, Supplier<float[]> values) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("tensor \"" + name + "\": cannot write float values as " + dtype
                    + " (F32, F16 or BF16)");
        }
        return addEntry(new Entry(name, dtype, shape.clone(), values, null));
    }

    public SafeTensorsWriter addLongs(String name, long[] shape, long[] values) {
        return addLongs(name, shape, () -> values);
    }

    /** Declares an I64 tensor whose values are produced only when the file is written. */
    public SafeTensorsWriter addLongs(String name, long[] shape, Supplier<long[]> values) {
        return addEntry(new Entry(name, DType.I64, shape.clone(), null, values));
    }

    private SafeTensorsWriter addEntry(Entry entry) {
        if (entry.name().isEmpty() || entry.name().equals("__metadata__")) {
            throw new IllegalArgumentException("invalid tensor name \"" + entry.name() + "\"");
        }
        if (!names.add(entry.name())) {
            throw new IllegalArgumentException("tensor \"" + entry.name() + "\" added twice");
        }
        for (long d : entry.shape()) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor \"" + entry.name() + "\": negative dimension in "
                        + Arrays.toString(entry.shape()));
            }
        }
        entries.add(entry);
        return this;
    }

    /** Writes the file (replacing an existing one) and returns its path. */
    public Path write(Path file) {
        Path absolute = file.toAbsolutePath();
        Path temp = absolute.resolveSibling(absolute.getFileName() + ".partial");
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(out, ByteBuffer.wrap(header()));
                writeData(out);
            }
            Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return absolute;
        } catch (IOException e) {
            deleteQuietly(temp);
            throw new UncheckedIOException("cannot write safetensors file " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(temp);
            throw e;
        }
    }

    /**
     * Streams the serialization (header, then data) to {@code out}, e.g. into a digest, without a file. The stream
     * is not closed.
     */
    public void writeTo(OutputStream out) throws IOException {
        out.write(header());
        writeData(Channels.newChannel(out));
    }

    /**
     * The serialization's first bytes: the 8-byte little-endian header length, then the JSON header padded with
     * spaces to a multiple of 8 bytes. The data section starts right after them.
     */
    public byte[] headerBytes() {
        try {
            return header();
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException("cannot encode safetensors header: " + e.getMessage(), e);
        }
    }

    /**
     * Orders the tensors as the reference {@code safetensors} library lays them out: by dtype, the larger (Rust
     * {@code Dtype} order: I64 before F64, F32, BF16, F16, ...) first, then by name. Files written after this have the
     * same data section, byte for byte, as Python's {@code save_file} of the same tensors.
     */
    public SafeTensorsWriter sortAsReference() {
        entries.sort(Comparator.comparingInt((Entry e) -> -referenceDtypeRank(e.dtype()))
                .thenComparing(Entry::name, SafeTensorsWriter::compareUtf8));
        return this;
    }

    /** Position in the reference library's {@code Dtype} enum (derived Ord, used by its sort). */
    private static int referenceDtypeRank(DType dtype) {
        return switch (dtype) {
            case BOOL -> 0;
            case U8 -> 1;
            case I8 -> 2;
            case I16 -> 5;
            case F16 -> 7;
            case BF16 -> 8;
            case I32 -> 9;
            case F32 -> 11;
            case F64 -> 12;
            case I64 -> 13;
        };
    }

    /** Rust {@code String} order: byte-wise over UTF-8 (code point order, unlike Java's UTF-16 compareTo). */
    private static int compareUtf8(String a, String b) {
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    /** Length prefix + JSON header, space-padded so the data section starts 8-byte aligned. */
    private byte[] header() throws JsonProcessingException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Entry e : entries) {
            long bytes = elementCount(e) * e.dtype().byteSize();
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("dtype", e.dtype().name());
            fields.put("shape", e.shape());
            fields.put("data_offsets", new long[] {offset, offset + bytes});
            header.put(e.name(), fields);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(json);
        while (out.hasRemaining()) {
            out.put((byte) ' ');
        }
        return out.array();
    }

    private static long elementCount(Entry e) {
        long n = 1;
        for (long d : e.shape()) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private void writeData(WritableByteChannel out) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : entries) {
            writeData(out, e, chunk);
        }
    }

    private static void writeData(WritableByteChannel out, Entry e, ByteBuffer chunk) throws IOException {
        long expected = elementCount(e);
        chunk.clear();
        if (e.floats() != null) {
            float[] values = e.floats().get();
            checkLength(e, values.length, expected);
            for (float v : values) {
                if (chunk.remaining() < 4) {
                    flush(out, chunk);
                }
                switch (e.dtype()) {
                    case F32 -> chunk.putFloat(v);
                    case F16 -> chunk.putShort(Float16.floatToHalf(v));
                    case BF16 -> chunk.putShort(Float16.floatToBf16(v));
                    default -> throw new IllegalStateException(e.dtype().toString());
                }
            }
        } else {
            long[] values = e.longs().get();
            checkLength(e, values.length, expected);
            for (long v : values) {
                if (chunk.remaining() < 8) {
                    flush(out, chunk);
                }
                chunk.putLong(v);
            }
        }
        flush(out, chunk);
    }

    private static void checkLength(Entry e, int actual, long expected) {
        if (actual != expected) {
            throw new IllegalArgumentException("tensor \"" + e.name() + "\": " + actual + " values for shape "
                    + Arrays.toString(e.shape()) + " (" + expected + " expected)");
        }
    }

    private static void flush(WritableByteChannel out, ByteBuffer chunk) throws IOException {
        chunk.flip();
        writeFully(out, chunk);
        chunk.clear();
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // the original error is the one worth reporting
        }
    }
}
