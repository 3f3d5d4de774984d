package dev.kiln.diffusion.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.golden.GoldenCheckGroup;
import dev.kiln.diffusion.golden.GoldenConfig;
import dev.kiln.diffusion.golden.GoldenResults;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.ActivationListener;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;

import java.util.List;
import java.util.Map;

/**
 * Golden checks of {@code vae.safetensors} through both model loading paths: posterior mean/logvar/std, the
 * sample from the given noise, the decode of the mean, and every act.* hook.
 */
public class VaeGoldenChecks implements GoldenCheckGroup {

    static final String FILE = "vae.safetensors";
    static final List<String> INPUTS = List.of("image", "sample_eps");

    @Override
    public String name() {
        return "vae";
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
                    Map<String, Captured> captured = capture(path.getValue().vae(), golden, manager);
                    for (String name : compared(golden)) {
                        results.check(FILE, name, path.getKey(), golden.check(name, captured.get(name)));
                    }
                }
            }
        }
    }

    static List<String> compared(GoldenTensors golden) {
        return golden.names().stream().filter(n -> !INPUTS.contains(n)).toList();
    }

    /** Encodes the golden image, samples with the golden noise, decodes the mean; captures all of it. */
    static Map<String, Captured> capture(AutoencoderKL vae, GoldenTensors golden, NDManager manager) {
        Map<String, Captured> captured = GoldenTensors.newCapture();
        ActivationListener recorder = GoldenTensors.recorder(captured);
        LatentDistribution posterior = vae.encode(golden.load("image", manager), recorder);
        captured.put("latent_mean", Captured.of(posterior.mean()));
        captured.put("latent_logvar", Captured.of(posterior.logvar()));
        captured.put("latent_std", Captured.of(posterior.std()));
        captured.put("latent_sample", Captured.of(posterior.sample(golden.load("sample_eps", manager))));
        NDArray decoded = vae.decode(posterior.mean(), recorder);
        captured.put("decoded_from_mean", Captured.of(decoded));
        return captured;
    }
}
