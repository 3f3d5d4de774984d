package dev.kiln.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenCheckGroup;
import dev.kiln.diffusion.golden.GoldenConfig;
import dev.kiln.diffusion.golden.GoldenResults;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;

import java.util.List;
import java.util.Map;

/**
 * Golden checks of {@code unet.safetensors} through both model loading paths: the output and every act.*
 * hook, once with attention unchunked and once chunked to single query rows (both must match).
 */
public class UNetGoldenChecks implements GoldenCheckGroup {

    static final String FILE = "unet.safetensors";
    static final List<String> INPUTS = List.of("sample", "timesteps", "encoder_hidden_states");

    @Override
    public String name() {
        return "unet";
    }

    @Override
    public void check(GoldenConfig config, GoldenResults results) {
        if (!config.hasGolden(FILE)) {
            return;
        }
        try (GoldenTensors golden = config.golden(FILE)) {
            INPUTS.forEach(input -> results.input(FILE, input));
            for (Map.Entry<String, StableDiffusionModel> path : config.models().entrySet()) {
                try (NDManager manager = config.manager().newSubManager()) {
                    for (Map.Entry<String, Long> chunking : CHUNKINGS.entrySet()) {
                        UNet2DConditionModel unet = path.getValue().unet().withAttentionChunkBytes(chunking.getValue());
                        Map<String, Captured> captured = capture(unet, golden, manager);
                        for (String name : compared(golden)) {
                            results.check(FILE, name, path.getKey() + ", " + chunking.getKey(),
                                    golden.check(name, captured.get(name)));
                        }
                    }
                }
            }
        }
    }

    /** Attention unchunked, and chunked to one query row per score matrix (1 byte budget). */
    static final Map<String, Long> CHUNKINGS = Map.of("unchunked attention", 0L, "row-chunked attention", 1L);

    /** Golden tensors compared against Java output: everything but the inputs. */
    static List<String> compared(GoldenTensors golden) {
        return golden.names().stream().filter(n -> !INPUTS.contains(n)).toList();
    }

    /** Runs the UNet on the golden inputs, capturing {@code out} and every {@code act.*} hook. */
    static Map<String, Captured> capture(UNet2DConditionModel unet, GoldenTensors golden, NDManager manager) {
        Map<String, Captured> captured = GoldenTensors.newCapture();
        NDArray out = unet.forward(golden.load("sample", manager), golden.load("timesteps", manager),
                golden.load("encoder_hidden_states", manager), GoldenTensors.recorder(captured));
        captured.put("out", Captured.of(out));
        return captured;
    }
}
