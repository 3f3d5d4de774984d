package dev.kiln.diffusion.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reader for the safetensors format (8-byte little-endian header length, JSON header, raw little-endian data).
 *
 * <p>The whole header is validated in {@link #open} before any tensor byte is touched: a size limit on the header,
 * known dtypes only, byte counts equal to dtype size × shape, offsets inside the file and not overlapping. Tensor data
 * is memory-mapped per tensor (in windows for tensors over 2 GB), so files of any size work. F16 and BF16 are
 * widened to float32 ({@link #load} gives float32 or int64 arrays; BF16 never reaches DJL, which crashes on it).
 */
public final class SafeTensors implements AutoCloseable {

    /** Same limit as the reference implementation: a larger header is treated as hostile. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final String METADATA_KEY = "__metadata__";
    /** Mapping window for reading large tensors; a multiple of every dtype size. */
    private static final int DEFAULT_WINDOW_BYTES = 1 << 30;
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors;
    private final int windowBytes;
    private volatile boolean closed;

    private SafeTensors(Path file, FileChannel channel, long dataStart, Map<String, String> metadata,
                        Map<String, TensorInfo> tensors, int windowBytes) {
        this.windowBytes = windowBytes;
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** Opens and fully validates {@code file}; throws {@link SafeTensorsException} naming the file on bad input. */
    public static SafeTensors open(Path file) {
        return open(file, DEFAULT_WINDOW_BYTES);
    }

    /** As {@link #open(Path)} with a smaller mapping window, so tests can exercise windowed reads. */
    static SafeTensors open(Path file, int windowBytes) {
        if (windowBytes <= 0 || windowBytes % 8 != 0) {
            throw new IllegalArgumentException("window must be a positive multiple of 8 bytes: " + windowBytes);
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open safetensors file " + file + ": " + e.getMessage(), e);
        }
        try {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw error(file, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
                throw error(file, "header length " + Long.toUnsignedString(headerLength)
                        + " is outside 2.." + MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > fileSize - 8) {
                throw error(file, "header length " + headerLength + " runs past the end of the file ("
                        + fileSize + " bytes)");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, 8);
            long dataStart = 8 + headerLength;
            String headerText = new String(headerBytes.array(), StandardCharsets.UTF_8);
            Header header = parseHeader(file, headerText, fileSize - dataStart);
            return new SafeTensors(file, channel, dataStart, header.metadata, header.tensors, windowBytes);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot read safetensors file " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private record Header(Map<String, String> metadata, Map<String, TensorInfo> tensors) {
    }

    private static Header parseHeader(Path file, String text, long dataLength) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw error(file, "header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw error(file, "header is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : root.properties()) {
            if (entry.getKey().equals(METADATA_KEY)) {
                readMetadata(file, entry.getValue(), metadata);
            } else {
                TensorInfo info = readTensorEntry(file, entry.getKey(), entry.getValue(), dataLength);
                tensors.put(info.name(), info);
            }
        }
        checkNoOverlap(file, tensors.values());
        return new Header(Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors));
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw error(file, METADATA_KEY + " is not a JSON object");
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw error(file, METADATA_KEY + " value of \"" + e.getKey() + "\" is not a string");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
    }

    private static TensorInfo readTensorEntry(Path file, String name, JsonNode node, long dataLength) {
        if (!node.isObject()) {
            throw tensorError(file, name, "entry is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw tensorError(file, name, "missing string field \"dtype\"");
        }
        DType dtype = DType.fromHeader(dtypeNode.asText());
        if (dtype == null) {
            throw tensorError(file, name, "unknown dtype \"" + dtypeNode.asText() + "\"");
        }
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw tensorError(file, name, "missing array field \"shape\"");
        }
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw tensorError(file, name, "shape entry " + i + " is not a non-negative integer: " + d);
            }
            shape[i] = d.asLong();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException e) {
                throw tensorError(file, name, "shape " + shapeNode + " has too many elements");
            }
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()
                || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
            throw tensorError(file, name, "\"data_offsets\" must be an array of two integers");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLength) {
            throw tensorError(file, name, "data_offsets [" + begin + ", " + end
                    + "] are out of bounds of the data section (" + dataLength + " bytes)");
        }
        long expectedBytes;
        try {
            expectedBytes = Math.multiplyExact(elements, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw tensorError(file, name, "shape " + shapeNode + " is too large");
        }
        if (end - begin != expectedBytes) {
            throw tensorError(file, name, "holds " + (end - begin) + " bytes but " + dtype + " " + shapeNode
                    + " needs " + expectedBytes);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void checkNoOverlap(Path file, Iterable<TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>();
        infos.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            // empty tensors occupy no bytes and cannot overlap anything
            if (t.byteLength() == 0) {
                continue;
            }
            if (previous != null && t.begin() < previous.end()) {
                throw error(file, "tensors \"" + previous.name() + "\" and \"" + t.name() + "\" overlap (["
                        + previous.begin() + ", " + previous.end() + "] and [" + t.begin() + ", " + t.end() + "])");
            }
            previous = t;
        }
    }

    public Path file() {
        return file;
    }

    /** The {@code __metadata__} string map (empty when the file has none). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in header order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** Header entry of {@code name}; throws naming the file when there is no such tensor. */
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new SafeTensorsException(file + ": no tensor named \"" + name + "\"");
        }
        return info;
    }

    /** All values of a floating-point tensor widened (or, for F64, narrowed) to float32. */
    public float[] readFloats(String name) {
        TensorInfo info = info(name);
        if (!info.dtype().isFloatingPoint()) {
            throw new SafeTensorsException(file + ": tensor \"" + name + "\" is " + info.dtype() + ", not a floating-point tensor");
        }
        float[] out = new float[checkedArrayLength(info)];
        int[] pos = {0};
        forEachWindow(info, buffer -> {
            int n = buffer.remaining() / info.dtype().byteSize();
            int base = pos[0];
            switch (info.dtype()) {
                case F32 -> buffer.asFloatBuffer().get(out, base, n);
                case F16 -> {
                    for (int i = 0; i < n; i++) {
                        out[base + i] = Float16.halfToFloat(buffer.getShort(buffer.position() + 2 * i));
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        out[base + i] = Float16.bf16ToFloat(buffer.getShort(buffer.position() + 2 * i));
                    }
                }
                case F64 -> {
                    for (int i = 0; i < n; i++) {
                        out[base + i] = (float) buffer.getDouble(buffer.position() + 8 * i);
                    }
                }
                default -> throw new IllegalStateException(info.dtype().toString());
            }
            pos[0] += n;
        });
        return out;
    }

    /** All values of an integer or boolean tensor as longs (unsigned for U8). */
    public long[] readLongs(String name) {
        TensorInfo info = info(name);
        if (info.dtype().isFloatingPoint()) {
            throw new SafeTensorsException(file + ": tensor \"" + name + "\" is " + info.dtype() + ", not an integer tensor");
        }
        long[] out = new long[checkedArrayLength(info)];
        int[] pos = {0};
        forEachWindow(info, buffer -> {
            int n = buffer.remaining() / info.dtype().byteSize();
            int base = pos[0];
            int p = buffer.position();
            for (int i = 0; i < n; i++) {
                out[base + i] = switch (info.dtype()) {
                    case I64 -> buffer.getLong(p + 8 * i);
                    case I32 -> buffer.getInt(p + 4 * i);
                    case I16 -> buffer.getShort(p + 2 * i);
                    case I8 -> buffer.get(p + i);
                    case U8, BOOL -> buffer.get(p + i) & 0xff;
                    default -> throw new IllegalStateException(info.dtype().toString());
                };
            }
            pos[0] += n;
        });
        return out;
    }

    /**
     * Loads one tensor into {@code manager}: float dtypes as float32, integer and boolean dtypes as int64. The data
     * is copied into memory owned by PyTorch, so the array, and any view of it, stays valid after this file is closed,
     * and it may be modified in place.
     */
    public NDArray load(String name, NDManager manager) {
        TensorInfo info = info(name);
        Shape shape = new Shape(info.shape());
        NDArray staged;
        if (info.dtype() == DType.F32 && info.byteLength() <= windowBytes) {
            // straight copy of the little-endian bytes into a native buffer
            ByteBuffer mapped = map(info, info.begin(), info.byteLength());
            ByteBuffer copy = manager.allocateDirect((int) info.byteLength());
            copy.put(mapped).flip();
            staged = manager.create(copy, shape, DataType.FLOAT32);
        } else if (info.dtype().isFloatingPoint()) {
            staged = manager.create(readFloats(name), shape);
        } else {
            staged = manager.create(readLongs(name), shape);
        }
        return torchOwned(staged);
    }

    /**
     * DJL arrays made from Java data point into a direct buffer that only the array object keeps alive: a view
     * (reshape, slice) that outlives a closed original would read freed memory. A clone lives in PyTorch's memory.
     */
    private static NDArray torchOwned(NDArray staged) {
        NDArray owned = staged.duplicate();
        staged.close();
        return owned;
    }

    /** Loads every tensor, keyed by name in header order. */
    public Map<String, NDArray> loadAll(NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String name : tensors.keySet()) {
            out.put(name, load(name, manager));
        }
        return out;
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
    }

    private int checkedArrayLength(TensorInfo info) {
        long n = info.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new SafeTensorsException(file + ": tensor \"" + info.name() + "\" has " + n
                    + " elements, too many for one Java array");
        }
        return (int) n;
    }

    private interface WindowConsumer {
        void accept(ByteBuffer window);
    }

    /** Maps the tensor's bytes in windows (1 GiB by default), each little-endian and positioned at 0. */
    private void forEachWindow(TensorInfo info, WindowConsumer consumer) {
        for (long offset = info.begin(); offset < info.end(); offset += windowBytes) {
            long length = Math.min(windowBytes, info.end() - offset);
            consumer.accept(map(info, offset, length));
        }
    }

    private ByteBuffer map(TensorInfo info, long offset, long length) {
        if (closed) {
            throw new IllegalStateException(file + " is closed");
        }
        if (length == 0) {
            return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + offset, length)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot map tensor \"" + info.name() + "\": " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing useful to do: the file was only read
        }
    }

    private static SafeTensorsException error(Path file, String message) {
        return new SafeTensorsException("invalid safetensors file " + file + ": " + message);
    }

    private static SafeTensorsException tensorError(Path file, String tensor, String message) {
        return new SafeTensorsException("invalid safetensors file " + file + ": tensor \"" + tensor + "\" " + message);
    }
}
