package dev.kiln.diffusion.train.save;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.lora.LoraModule;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.lora.LoraTarget;
import dev.kiln.diffusion.lora.SavePrecision;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.safetensors.TensorInfo;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.job.JobSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * LoRA files as train_network.py saves them: round trip through {@link LoraNetwork#load}, the sshs_* hashes
 * recomputed here from the written bytes, the layout compared byte for byte with the golden LoRA that Python's
 * safetensors wrote, and sd-scripts' int64 alpha.
 */
class LoraFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path temp;

    /** Six 640×640 linear modules at rank 40 and a 3×3 conv at rank 4: about 1.3 MB in float32, past 1 MiB. */
    static List<LoraTarget> targets() {
        List<LoraTarget> t = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String name = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_" + "qkvabc".charAt(i);
            t.add(new LoraTarget(name, "x" + i, new Shape(640, 640), 40, 16));
        }
        t.add(new LoraTarget("lora_unet_down_blocks_1_resnets_0_conv1", "c", new Shape(640, 320, 3, 3), 4, 1));
        t.add(new LoraTarget("lora_te_text_model_encoder_layers_0_mlp_fc1", "te", new Shape(128, 32), 4, 1));
        return t;
    }

    /** A network whose lora_up is not zero, so every tensor carries data. */
    static LoraNetwork network(NDManager manager) {
        LoraNetwork net = LoraNetwork.create(targets(), manager, 7);
        for (LoraModule m : net.modules().values()) {
            m.up().addi(m.down().getManager().randomNormal(m.up().getShape()).mul(0.01f));
        }
        return net;
    }

    static Map<String, String> metadata() {
        Map<String, String> md = new LinkedHashMap<>();
        md.put("ss_network_module", "networks.lora");
        md.put("ss_output_name", "cat\u00e9\n\"lora\"");
        md.put("modelspec.title", "Cats");
        md.put("modelspec.sai_model_spec", "1.0.1");
        return md;
    }

    @ParameterizedTest
    @EnumSource(SavePrecision.class)
    void roundTripKeepsKeysValuesAndMetadata(SavePrecision precision) {
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = network(manager);
            Path file = LoraFiles.save(net, temp.resolve(precision + ".safetensors"), metadata(), precision);
            LoraNetwork back = LoraNetwork.load(file, manager);
            assertEquals(net.modules().keySet(), back.modules().keySet());
            double tolerance = switch (precision) {
                case FLOAT -> 0;
                case FP16 -> 1e-3;
                case BF16 -> 8e-3;
            };
            for (LoraModule m : net.modules().values()) {
                LoraModule b = back.modules().get(m.name());
                assertEquals(m.alpha(), b.alpha(), m.name());
                assertClose(m.down().toFloatArray(), b.down().toFloatArray(), tolerance, m.name());
                assertClose(m.up().toFloatArray(), b.up().toFloatArray(), tolerance, m.name());
            }
            Map<String, String> md = back.metadata();
            metadata().forEach((k, v) -> assertEquals(v, md.get(k), k));
            assertTrue(md.get("sshs_model_hash").matches("[0-9a-f]{64}"));
            assertTrue(md.get("sshs_legacy_hash").matches("[0-9a-f]{8}"));
            try (SafeTensors st = SafeTensors.open(file)) {
                for (String name : st.names()) {
                    assertEquals(precision.dtype(), st.info(name).dtype(), name);
                }
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tolerance * Math.max(1, Math.abs(expected[i])), what + "[" + i + "]");
        }
    }

    @Test
    void hashesAreThoseOfTheSerializationWithOnlyTheSsKeys() throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            Path file = LoraFiles.save(network(manager), temp.resolve("lora.safetensors"), metadata(),
                    SavePrecision.FLOAT);
            byte[] bytes = Files.readAllBytes(file);
            assertTrue(bytes.length > 0x110000, "the legacy window lies in the data");
            long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] data = Arrays.copyOfRange(bytes, 8 + (int) headerLength, bytes.length);

            // the header again, as Python's safetensors.torch.save(state_dict, ss_only_metadata) lays it out
            String headerText = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
            Map<String, Object> header = JSON.readValue(headerText,
                    new TypeReference<LinkedHashMap<String, Object>>() {});
            @SuppressWarnings("unchecked")
            Map<String, String> stored = (Map<String, String>) header.get("__metadata__");
            Map<String, String> ssOnly = new LinkedHashMap<>();
            stored.forEach((k, v) -> {
                if (k.startsWith("ss_")) {
                    ssOnly.put(k, v);
                }
            });
            header.put("__metadata__", ssOnly);
            byte[] json = JSON.writeValueAsBytes(header);
            int padded = (json.length + 7) / 8 * 8;
            byte[] serialization = new byte[8 + padded + data.length];
            ByteBuffer.wrap(serialization).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            System.arraycopy(json, 0, serialization, 8, json.length);
            Arrays.fill(serialization, 8 + json.length, 8 + padded, (byte) ' ');
            System.arraycopy(data, 0, serialization, 8 + padded, data.length);

            assertEquals(sha256(data), stored.get("sshs_model_hash"));
            assertEquals(sha256(Arrays.copyOfRange(serialization, 0x100000, 0x110000)).substring(0, 8),
                    stored.get("sshs_legacy_hash"));
            // the file's own window differs (its header is longer): the hash really is of the ss_-only layout
            assertNotEquals(sha256(Arrays.copyOfRange(bytes, 0x100000, 0x110000)).substring(0, 8),
                    stored.get("sshs_legacy_hash"));
        }
    }

    static Stream<Path> goldenLoras() {
        return GoldenData.configFolders().stream().map(config -> {
            try (Stream<Path> files = Files.list(config.resolve("lora"))) {
                return files.filter(p -> p.toString().endsWith(".safetensors")).findFirst().orElseThrow();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /**
     * The golden LoRA was written by Python's safetensors. Saved again with its own metadata, the data section is
     * the same bytes and the header is the same text plus the two sshs_* entries: its metadata is all ss_* keys,
     * so the file is the serialization sd-scripts hashes; its data hash is the model hash and, being shorter than
     * 1 MiB, its legacy hash is that of no bytes.
     */
    @ParameterizedTest
    @MethodSource("goldenLoras")
    void layoutMatchesPythonSafetensorsByteForByte(Path golden) throws IOException {
        Map<String, String> goldenMetadata;
        try (SafeTensors st = SafeTensors.open(golden)) {
            goldenMetadata = st.metadata();
            for (String name : st.names()) {
                assertEquals(DType.F16, st.info(name).dtype(), name);
            }
        }
        assertTrue(goldenMetadata.keySet().stream().allMatch(k -> k.startsWith("ss_")));
        byte[] expected = Files.readAllBytes(golden);
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = LoraNetwork.load(golden, manager);
            Path file = LoraFiles.save(net, temp.resolve("again.safetensors"), goldenMetadata, SavePrecision.FP16);
            byte[] actual = Files.readAllBytes(file);

            String goldenHeader = header(expected).stripTrailing();
            String ourHeader = header(actual).stripTrailing();
            String modelHash = sha256(data(expected));
            String sshs = ",\"sshs_model_hash\":\"" + modelHash + "\",\"sshs_legacy_hash\":\"e3b0c442\"";
            assertTrue(ourHeader.contains(sshs), ourHeader.substring(0, 300));
            assertEquals(goldenHeader, ourHeader.replace(sshs, ""));
            assertArrayEquals(data(expected), data(actual));
        }
    }

    @Test
    void defaultNetworkAlphaIsSavedAsInt64AsSdScriptsDoes() throws IOException {
        JobSpec job = LoraMetadataTest.parse(LoraMetadataTest.CONFIG_JOB);
        assertEquals(SavePrecision.FLOAT, LoraFiles.precision(job));
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = network(manager);
            DatasetPlan plan = LoraMetadataTest.plan(job, LoraMetadataTest.cats());
            LoraMetadata.Run run = new LoraMetadata.Run(job, plan, 5, LoraMetadataTest.STARTED, 42, null, null,
                    LoraMetadataTest.OPTIMIZER);
            Map<String, String> md = LoraMetadata.forSave(run, 30, 1, LoraMetadataTest.SAVED, ZoneOffset.UTC);
            Path file = LoraFiles.save(net, temp.resolve("int.safetensors"), md, LoraFiles.precision(job),
                    LoraFiles.int64Alpha(job));
            try (SafeTensors st = SafeTensors.open(file)) {
                String conv = "lora_unet_down_blocks_1_resnets_0_conv1";
                for (LoraModule m : net.modules().values()) {
                    // network_alpha left at its int default; the 3x3 conv takes float(conv_alpha)
                    DType expected = m.name().equals(conv) ? DType.F32 : DType.I64;
                    assertEquals(expected, st.info(m.name() + ".alpha").dtype(), m.name());
                    assertEquals(DType.F32, st.info(m.name() + ".lora_down.weight").dtype());
                }
                assertArrayEquals(new long[] {16}, st.readLongs(
                        "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q.alpha"));
                // safetensors' layout: int64 (larger dtype) first, then float32, each by name
                List<TensorInfo> byOffset = st.names().stream().map(st::info)
                        .sorted((a, b) -> Long.compare(a.begin(), b.begin())).toList();
                int firstFloat = 0;
                while (byOffset.get(firstFloat).dtype() == DType.I64) {
                    firstFloat++;
                }
                assertEquals(7, firstFloat);
                assertTrue(byOffset.subList(firstFloat, byOffset.size()).stream()
                        .allMatch(i -> i.dtype() == DType.F32));
                assertEquals(md.get("ss_session_id"), st.metadata().get("ss_session_id"));
                assertEquals(md.get("modelspec.date"), st.metadata().get("modelspec.date"));
            }
            LoraNetwork back = LoraNetwork.load(file, manager);
            for (LoraModule m : net.modules().values()) {
                assertEquals(m.alpha(), back.modules().get(m.name()).alpha(), m.name());
            }
        }
    }

    @Test
    void aGivenAlphaOrSavePrecisionMakesAllAlphasFloat() {
        JobSpec given = LoraMetadataTest.parse(LoraMetadataTest.CONFIG_JOB.replace("network_dim = 8",
                "network_dim = 8\nnetwork_alpha = 4"));
        JobSpec precision = LoraMetadataTest.parse(LoraMetadataTest.CONFIG_JOB.replace("network_dim = 8",
                "network_dim = 8\nsave_precision = \"bf16\""));
        JobSpec zero = LoraMetadataTest.parse(LoraMetadataTest.CONFIG_JOB.replace("network_dim = 8",
                "network_dim = 8\nnetwork_alpha = 0.0"));
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork net = network(manager);
            for (LoraModule m : net.modules().values()) {
                assertFalse(LoraFiles.int64Alpha(given).test(m), m.name());
                assertFalse(LoraFiles.int64Alpha(precision).test(m), m.name());
                // alpha 0 becomes the rank, a Python int, for the modules that take network_alpha
                assertEquals(!m.name().endsWith("conv1"), LoraFiles.int64Alpha(zero).test(m), m.name());
            }
        }
        assertEquals(SavePrecision.BF16, LoraFiles.precision(precision));
        assertEquals(SavePrecision.FP16, LoraFiles.precision(LoraMetadataTest.parse(LoraMetadataTest.CONFIG_JOB
                .replace("network_dim = 8", "network_dim = 8\nmixed_precision = \"fp16\"\nfull_fp16 = true"))));
    }

    private static String header(byte[] file) {
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return new String(file, 8, (int) n, StandardCharsets.UTF_8);
    }

    private static byte[] data(byte[] file) {
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return Arrays.copyOfRange(file, 8 + (int) n, file.length);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
