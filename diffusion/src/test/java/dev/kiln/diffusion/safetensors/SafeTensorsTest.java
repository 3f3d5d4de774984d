package dev.kiln.diffusion.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.golden.GoldenData;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @TempDir
    Path dir;

    @Test
    void roundTripsEveryWritableDtypeWithMetadata() {
        float[] values = {0f, 1f, -2.5f, 3.14159265f, 1e-3f, 65504f, -1e-7f, 1234.5678f};
        long[] longs = {0, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE, 49407};
        Path file = new SafeTensorsWriter()
                .metadata("ss_network_dim", "4")
                .metadata(Map.of("format", "pt"))
                .addFloats("f32", DType.F32, new long[] {2, 4}, values)
                .addFloats("f16", DType.F16, new long[] {8}, values)
                .addFloats("bf16", DType.BF16, new long[] {4, 2}, values)
                .addLongs("ids", new long[] {6}, longs)
                .addFloats("scalar", DType.F32, new long[] {}, new float[] {7f})
                .addFloats("empty", DType.F16, new long[] {0, 3}, new float[0])
                .write(dir.resolve("t.safetensors"));

        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(Map.of("ss_network_dim", "4", "format", "pt"), st.metadata());
            assertEquals(List.of("f32", "f16", "bf16", "ids", "scalar", "empty"), new ArrayList<>(st.names()));
            assertEquals(DType.BF16, st.info("bf16").dtype());
            assertArrayEquals(new long[] {4, 2}, st.info("bf16").shape());
            assertArrayEquals(values, st.readFloats("f32"));
            float[] f16 = st.readFloats("f16");
            float[] bf16 = st.readFloats("bf16");
            for (int i = 0; i < values.length; i++) {
                assertEquals(values[i], f16[i], Math.abs(values[i]) * 0x1p-11f + 0x1p-25f, "f16 " + i);
                assertEquals(values[i], bf16[i], Math.abs(values[i]) * 0x1p-8f, "bf16 " + i);
            }
            assertArrayEquals(longs, st.readLongs("ids"));
            assertArrayEquals(new float[] {7f}, st.readFloats("scalar"));
            assertEquals(0, st.readFloats("empty").length);
        }
    }

    @Test
    void loadGivesFloat32AndInt64ArraysThatOutliveTheFile() {
        float[] values = {0.5f, -1.25f, 2f, 1024f, -0.0009765625f, 3f};
        Path file = new SafeTensorsWriter()
                .addFloats("a", DType.F16, new long[] {2, 3}, values)
                .addFloats("b", DType.BF16, new long[] {6}, values)
                .addFloats("c", DType.F32, new long[] {3, 2}, values)
                .addLongs("d", new long[] {1, 2}, new long[] {998, 999})
                .write(dir.resolve("l.safetensors"));
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> all;
            try (SafeTensors st = SafeTensors.open(file)) {
                all = st.loadAll(manager);
            }
            // every value above is exact in F16 and BF16
            for (String name : List.of("a", "b", "c")) {
                assertEquals(DataType.FLOAT32, all.get(name).getDataType(), name);
                assertArrayEquals(values, all.get(name).toFloatArray(), name);
            }
            assertEquals(new Shape(2, 3), all.get("a").getShape());
            assertEquals(DataType.INT64, all.get("d").getDataType());
            assertArrayEquals(new long[] {998, 999}, all.get("d").toLongArray());
            // arrays are copies: in-place updates must work after the file is closed
            all.get("c").muli(2);
            assertEquals(2f * values[0], all.get("c").toFloatArray()[0]);
        }
    }

    @Test
    void writerStoresArraysInTheirPrecision() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray half = manager.create(new float[] {1.5f, -2f}).toType(DataType.FLOAT16, false);
            NDArray ints = manager.create(new int[] {3, 4, 5});
            NDArray floats = manager.create(new float[] {0.1f, 0.2f}, new Shape(1, 2));
            Path file = new SafeTensorsWriter().add("half", half).add("ints", ints).add("floats", floats)
                    .add("asBf16", floats, DType.BF16).write(dir.resolve("nd.safetensors"));
            try (SafeTensors st = SafeTensors.open(file)) {
                assertEquals(DType.F16, st.info("half").dtype());
                assertEquals(DType.I64, st.info("ints").dtype());
                assertEquals(DType.F32, st.info("floats").dtype());
                assertEquals(DType.BF16, st.info("asBf16").dtype());
                assertArrayEquals(new float[] {1.5f, -2f}, st.readFloats("half"));
                assertArrayEquals(new long[] {3, 4, 5}, st.readLongs("ints"));
                assertArrayEquals(new float[] {0.1f, 0.2f}, st.readFloats("floats"));
            }
        }
    }

    @Test
    void fileLayoutFollowsTheFormat() throws IOException {
        Path file = new SafeTensorsWriter().metadata("k", "v")
                .addFloats("x", DType.F32, new long[] {2}, new float[] {1f, 2f})
                .write(dir.resolve("layout.safetensors"));
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = b.getLong(0);
        assertEquals(0, headerLength % 8, "data section is 8-byte aligned");
        assertEquals(8 + headerLength + 8, bytes.length);
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8).trim();
        assertEquals("{\"__metadata__\":{\"k\":\"v\"},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                header);
        assertEquals(1f, b.getFloat((int) (8 + headerLength)));
        assertEquals(2f, b.getFloat((int) (8 + headerLength + 4)));
        assertFalse(Files.exists(dir.resolve("layout.safetensors.partial")));
    }

    @Test
    void writerRejectsInconsistentTensorsAndLeavesNoPartialFile() {
        Path target = dir.resolve("bad.safetensors");
        SafeTensorsWriter writer = new SafeTensorsWriter()
                .addFloats("ok", DType.F32, new long[] {2}, new float[] {1f, 2f})
                .addFloats("short", DType.F16, new long[] {2, 2}, new float[] {1f, 2f, 3f});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> writer.write(target));
        assertTrue(e.getMessage().contains("\"short\""), e.getMessage());
        assertFalse(Files.exists(target));
        assertFalse(Files.exists(dir.resolve("bad.safetensors.partial")));
        assertThrows(IllegalArgumentException.class, () -> writer.addLongs("ok", new long[] {1}, new long[] {1}));
        assertThrows(IllegalArgumentException.class,
                () -> writer.addFloats("x", DType.I64, new long[] {1}, new float[] {1f}));
    }

    @Test
    void halfConversionMatchesPyTorch() {
        // every half value widens exactly and narrows back to itself
        for (int h = 0; h < 0x10000; h++) {
            float f = Float16.halfToFloat((short) h);
            if (!Float.isNaN(f)) {
                assertEquals((short) h, Float16.floatToHalf(f), "half " + Integer.toHexString(h));
            }
        }
        // narrowing of arbitrary floats (normal, subnormal, ties, overflow) agrees bit for bit with torch
        Random random = new Random(7);
        float[] probe = new float[20000];
        for (int i = 0; i < probe.length; i++) {
            float magnitude = (float) Math.pow(2, random.nextInt(50) - 30);
            probe[i] = (float) random.nextGaussian() * magnitude;
        }
        probe[0] = 65520f; // rounds to infinity
        probe[1] = 65519f; // rounds to 65504
        probe[2] = 0x1p-25f; // tie between 0 and the smallest subnormal: rounds to even (0)
        probe[3] = 0x1.8p-24f; // tie between subnormals 1 and 2: rounds to 2
        probe[4] = Float.NEGATIVE_INFINITY;
        probe[5] = 1.00048828125f; // tie 1 + 2^-11: rounds to even (1.0)
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray asHalf = manager.create(probe).toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false);
            float[] torch = asHalf.toFloatArray();
            for (int i = 0; i < probe.length; i++) {
                assertEquals(torch[i], Float16.halfToFloat(Float16.floatToHalf(probe[i])), "probe " + probe[i]);
            }
        }
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertEquals((short) 0x3f80, Float16.floatToBf16(1f));
        assertEquals((short) 0x3f80, Float16.floatToBf16(Float.intBitsToFloat(0x3f808000))); // tie, even below
        assertEquals((short) 0x3f82, Float16.floatToBf16(Float.intBitsToFloat(0x3f818000))); // tie, even above
        assertEquals((short) 0x3f81, Float16.floatToBf16(Float.intBitsToFloat(0x3f808001)));
        assertTrue(Float.isNaN(Float16.bf16ToFloat(Float16.floatToBf16(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, Float16.bf16ToFloat(Float16.floatToBf16(Float.MAX_VALUE)));
        assertEquals(-2.5f, Float16.bf16ToFloat((short) 0xc020));
    }

    @Test
    void readsTensorsInWindowsAndAtOffsetsBeyondFourGigabytes() throws IOException {
        float[] values = new float[1001];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.25f - 100f;
        }
        Path file = new SafeTensorsWriter().addFloats("f32", DType.F32, new long[] {1001}, values)
                .addFloats("f16", DType.F16, new long[] {1001}, values).write(dir.resolve("w.safetensors"));
        try (SafeTensors st = SafeTensors.open(file, 64); NDManager manager = NDManager.newBaseManager()) {
            assertArrayEquals(values, st.readFloats("f32"));
            assertArrayEquals(values, st.readFloats("f16"));
            assertArrayEquals(values, st.load("f32", manager).toFloatArray());
        }

        // sparse file: a 5 GB padding tensor followed by a small one
        long pad = 5_000_000_000L;
        Path big = dir.resolve("big.safetensors");
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + pad + "],\"data_offsets\":[0," + pad + "]},"
                + "\"far\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + pad + "," + (pad + 8) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile raf = new RandomAccessFile(big.toFile(), "rw")) {
            raf.setLength(8 + h.length + pad + 8);
            raf.write(littleEndianLong(h.length));
            raf.write(h);
            raf.seek(8 + h.length + pad);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-3f).array());
        }
        try (SafeTensors st = SafeTensors.open(big); NDManager manager = NDManager.newBaseManager()) {
            assertArrayEquals(new float[] {1.5f, -3f}, st.readFloats("far"));
            assertArrayEquals(new float[] {1.5f, -3f}, st.load("far", manager).toFloatArray());
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.readLongs("pad"));
            assertTrue(e.getMessage().contains("\"pad\""), e.getMessage());
        }
    }

    @Test
    void rejectsMalformedHeadersWithClearErrors() throws IOException {
        String ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        assertValid(ok, 8);
        assertRejected(headerFile(Long.MAX_VALUE, ok, 8), "header length");
        assertRejected(headerFile(SafeTensors.MAX_HEADER_BYTES + 1, ok, 8), "header length");
        assertRejected(headerFile(ok.length() + 100, ok, 8), "past the end of the file");
        assertRejected(rawHeaderFile("{\"w\": [1,2", 8), "not valid JSON");
        assertRejected(rawHeaderFile("[1,2,3]", 8), "not a JSON object");
        assertRejected(rawHeaderFile("{\"w\":{\"dtype\":\"F8_E9\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                "\"w\" unknown dtype \"F8_E9\"");
        assertRejected(rawHeaderFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
                "\"w\" holds 8 bytes but F32 [3] needs 12");
        assertRejected(rawHeaderFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8),
                "\"w\" data_offsets [4, 12] are out of bounds");
        assertRejected(rawHeaderFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8),
                "out of bounds");
        assertRejected(rawHeaderFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[4,12]}}", 16), "\"a\" and \"b\" overlap");
        assertRejected(rawHeaderFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8),
                "\"w\" shape entry 0");
        assertRejected(rawHeaderFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                + "\"data_offsets\":[0,8]}}", 8), "too many elements");
        assertRejected(rawHeaderFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "data_offsets");
        assertRejected(rawHeaderFile("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "dtype");
        assertRejected(rawHeaderFile("{\"__metadata__\":{\"n\":4}," + ok.substring(1), 8), "\"n\" is not a string");
        assertRejected(rawHeaderFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "Duplicate");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertRejected(tiny, "shorter than");
    }

    @Test
    void readsEveryGoldenFileAsItsManifestDescribes() throws IOException {
        int files = 0;
        for (Path config : GoldenData.configFolders()) {
            JsonNode manifest = GoldenData.manifest(config);
            for (JsonNode entry : manifest.path("files")) {
                String relative = entry.path("path").asText();
                if (!relative.endsWith(".safetensors")) {
                    continue;
                }
                files++;
                try (SafeTensors st = SafeTensors.open(config.resolve(relative))) {
                    JsonNode tensors = entry.path("tensors");
                    assertEquals(tensors.size(), st.names().size(), relative);
                    for (Map.Entry<String, JsonNode> t : tensors.properties()) {
                        TensorInfo info = st.info(t.getKey());
                        assertEquals(t.getValue().path("dtype").asText(), info.dtype().name(), t.getKey());
                        long[] shape = new long[t.getValue().path("shape").size()];
                        for (int i = 0; i < shape.length; i++) {
                            shape[i] = t.getValue().path("shape").get(i).asLong();
                        }
                        assertArrayEquals(shape, info.shape(), t.getKey());
                        int count = info.dtype().isFloatingPoint()
                                ? st.readFloats(t.getKey()).length : st.readLongs(t.getKey()).length;
                        assertEquals(info.elementCount(), count, t.getKey());
                    }
                    JsonNode metadata = entry.path("safetensors_metadata");
                    for (Map.Entry<String, JsonNode> m : metadata.properties()) {
                        assertEquals(m.getValue().asText(), st.metadata().get(m.getKey()), relative);
                    }
                }
            }
        }
        try (Stream<Path> all = Files.walk(GoldenData.root())) {
            assertEquals(all.filter(p -> p.toString().endsWith(".safetensors")).count(), files,
                    "every golden safetensors file is listed in a manifest");
        }
        assertTrue(files >= 10, "golden files found: " + files);
    }

    private void assertValid(String header, int dataBytes) throws IOException {
        try (SafeTensors st = SafeTensors.open(rawHeaderFile(header, dataBytes))) {
            assertEquals(2, st.readFloats("w").length);
        }
    }

    private static void assertRejected(Path file, String expectedMessagePart) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(file).close());
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expectedMessagePart),
                "expected '" + expectedMessagePart + "' in: " + e.getMessage());
    }

    private int counter;

    private Path rawHeaderFile(String header, int dataBytes) throws IOException {
        return headerFile(header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private Path headerFile(long declaredLength, String header, int dataBytes) throws IOException {
        Path file = dir.resolve("bad" + (counter++) + ".safetensors");
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(h);
        Files.write(file, b.array());
        return file;
    }

    private static byte[] littleEndianLong(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }
}
