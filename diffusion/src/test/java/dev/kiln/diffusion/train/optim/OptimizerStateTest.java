package dev.kiln.diffusion.train.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** An optimizer restored from another's state continues exactly as the original would (the training resume). */
class OptimizerStateTest {

    @ParameterizedTest
    @ValueSource(strings = {"AdamW", "Lion", "SGDNesterov", "AdaFactor", "Prodigy"})
    void restoredStateContinuesExactly(String type) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray straight = m.create(new float[] {0.5f, -1f, 2f, 0.25f, -0.75f, 1.5f}, new Shape(2, 3));
            NDArray resumed = straight.duplicate();
            NDArray g1 = m.create(new float[] {0.1f, -0.2f, 0.3f, 0.05f, 0.4f, -0.1f}, new Shape(2, 3));
            NDArray g2 = m.create(new float[] {-0.3f, 0.1f, 0.2f, -0.05f, 0.2f, 0.3f}, new Shape(2, 3));
            try (Optimizer a = Optimizers.create(type, List.of()); Optimizer b = Optimizers.create(type, List.of());
                 Optimizer c = Optimizers.create(type, List.of())) {
                a.step(group(straight), Map.of("w", g1));
                a.step(group(straight), Map.of("w", g2));
                b.step(group(resumed), Map.of("w", g1));
                // as a state file would: copies of the tensors, the scalars as they are
                OptimizerState saved = b.state();
                Map<String, NDArray> copies = new LinkedHashMap<>();
                saved.tensors().forEach((k, v) -> copies.put(k, v.duplicate()));
                c.restore(new OptimizerState(copies, saved.scalars()));
                c.step(group(resumed), Map.of("w", g2));
            }
            assertArrayEquals(straight.toFloatArray(), resumed.toFloatArray(), 0f, type);
        }
    }

    private static List<ParamGroup> group(NDArray w) {
        return List.of(new ParamGroup("unet", 1e-2, Map.of("w", w)));
    }
}
