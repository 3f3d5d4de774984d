package dev.kiln.diffusion.textencoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
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
 * Golden checks of the CLIP text encoder through both loading paths: every hidden state, the last hidden state,
 * pooled output, clip_skip 2, the config's conditioning (and that of the empty prompt), and the forward hooks.
 */
public class TextEncoderGoldenChecks implements GoldenCheckGroup {

    static final String FILE = "text_encoder.safetensors";

    @Override
    public String name() {
        return "text_encoder";
    }

    @Override
    public void check(GoldenConfig config, GoldenResults results) {
        int clipSkip = config.parameters().path("clip_skip").asInt(1);
        try (GoldenTensors golden = config.golden(FILE)) {
            results.input(FILE, "input_ids");
            results.input(FILE, "input_ids_uncond");
            for (Map.Entry<String, StableDiffusionModel> path : config.models().entrySet()) {
                try (NDManager manager = config.manager().newSubManager()) {
                    Map<String, Captured> captured = capture(path.getValue().textEncoder(), golden, manager, clipSkip);
                    for (String name : golden.names()) {
                        if (!name.startsWith("input_ids")) {
                            results.check(FILE, name, path.getKey(), golden.check(name, captured.get(name)));
                        }
                    }
                }
            }
        }
    }

    /** Runs the encoder on the golden inputs and captures every output the golden file holds. */
    static Map<String, Captured> capture(ClipTextModel te, GoldenTensors golden, NDManager manager, int clipSkip) {
        Map<String, Captured> captured = GoldenTensors.newCapture();
        NDArray ids = golden.load("input_ids", manager);
        ClipTextModel.Output out = te.forward(ids, te.config().numHiddenLayers(), GoldenTensors.recorder(captured));
        List<NDArray> hidden = out.hiddenStates();
        captured.put("last_hidden_state", Captured.of(out.lastHiddenState()));
        captured.put("pooler_output", Captured.of(out.pooledOutput()));
        captured.put("hidden_states", Captured.of(NDArrays.stack(new NDList(hidden), 0)));
        captured.put("penultimate_hidden_state", Captured.of(hidden.get(hidden.size() - 2)));
        captured.put("clip_skip2", Captured.of(te.encode(ids, 2)));
        captured.put("conditioning", Captured.of(te.encode(ids, clipSkip)));
        captured.put("conditioning_uncond", Captured.of(te.encode(golden.load("input_ids_uncond", manager), clipSkip)));
        return captured;
    }
}
