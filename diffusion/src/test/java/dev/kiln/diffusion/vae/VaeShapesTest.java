package dev.kiln.diffusion.vae;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A VAE of a shape unlike the golden ones runs from its config alone. */
class VaeShapesTest {

    static VaeConfig otherShape() throws Exception {
        return VaeConfig.fromJson(new ObjectMapper().readTree("""
                {"block_out_channels": [8, 16, 24],
                 "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
                 "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
                 "layers_per_block": 2, "norm_num_groups": 4, "latent_channels": 6}"""), "test vae");
    }

    @Test
    void otherShapedConfigEncodesAndDecodesWithCorrectShapes() throws Exception {
        VaeConfig config = otherShape();
        assertEquals(4, config.downscaleFactor());
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(4);
            Set<String> called = new HashSet<>();
            AutoencoderKL vae = new AutoencoderKL(config, VaeParameters.of(config).random(m))
                    .withLayerHook((call, out) -> {
                        called.add(call.name());
                        return out;
                    });
            NDArray image = m.randomUniform(-1f, 1f, new Shape(2, 3, 24, 40));
            LatentDistribution posterior = vae.encode(image);
            assertEquals(new Shape(2, 6, 6, 10), posterior.mean().getShape());
            assertEquals(new Shape(2, 6, 6, 10), posterior.logvar().getShape());
            NDArray decoded = vae.decode(posterior.sample(m.randomNormal(new Shape(2, 6, 6, 10))));
            assertEquals(new Shape(2, 3, 24, 40), decoded.getShape());
            for (float v : decoded.toFloatArray()) {
                assertTrue(Float.isFinite(v));
            }
            Set<String> modules = VaeParameters.of(config).asMap().entrySet().stream()
                    .filter(e -> e.getValue().dimension() >= 2)
                    .map(e -> e.getKey().substring(0, e.getKey().length() - ".weight".length()))
                    .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(modules, new TreeSet<>(called), "every Linear/Conv ran through the hook");
        }
    }

    @Test
    void imageSizeNotDivisibleByTheDownscaleFactorIsRefused() throws Exception {
        VaeConfig config = otherShape();
        try (NDManager m = NDManager.newBaseManager()) {
            AutoencoderKL vae = new AutoencoderKL(config, VaeParameters.of(config).random(m));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> vae.encode(m.zeros(new Shape(1, 3, 22, 40))));
            assertTrue(e.getMessage().contains("multiples of 4"), e.getMessage());
        }
    }

    @Test
    void missingWeightIsNamed() throws Exception {
        VaeConfig config = otherShape();
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = new HashMap<>(VaeParameters.of(config).random(m));
            weights.remove("decoder.mid_block.attentions.0.to_v.weight");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new AutoencoderKL(config, weights));
            assertTrue(e.getMessage().contains("decoder.mid_block.attentions.0.to_v.weight missing"), e.getMessage());
        }
    }
}
