package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;

import java.util.List;
import java.util.Map;

/**
 * Lion ({@code lion_pytorch.Lion}, Chen et al. 2023): {@code p *= 1 - lr·wd};
 * {@code p -= lr · sign(β1·m + (1-β1)·g)}; then {@code m = β2·m + (1-β2)·g}.
 * Options: {@code betas} (0.9, 0.99), {@code weight_decay} 0.
 */
public final class Lion extends StatefulOptimizer {

    private final double beta1;
    private final double beta2;
    private final double weightDecay;

    public Lion(OptimizerArgs args) {
        super("lion_pytorch.lion_pytorch.Lion", args);
        double[] betas = args.numbers("betas", new double[] {0.9, 0.99});
        this.beta1 = betas[0];
        this.beta2 = betas[1];
        this.weightDecay = args.number("weight_decay", 0.0);
        if (args.bool("use_triton", false)) {
            throw new IllegalArgumentException("optimizer_args use_triton=True is not supported");
        }
        args.rejectUnused("Lion");
    }

    @Override
    public void step(List<ParamGroup> groups, Map<String, NDArray> grads) {
        forEachParam(groups, grads, (group, name, p, g) -> {
            double lr = group.lr();
            NDArray m = slot(name, "exp_avg", p);
            p.muli((float) (1 - lr * weightDecay));
            NDArray update = m.mul((float) beta1).addi(g.mul((float) (1 - beta1))).sign();
            p.subi(update.muli((float) lr));
            m.muli((float) beta2).addi(g.mul((float) (1 - beta2)));
        });
    }
}
