package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;

import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.AdamW} (sd-scripts' default optimizer): decoupled weight decay {@code p *= 1 - lr·wd}, then
 * {@code m = β1·m + (1-β1)·g}, {@code v = β2·v + (1-β2)·g²},
 * {@code p -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + eps)}, with the step count t kept per parameter.
 * Options: {@code betas} (0.9, 0.999), {@code eps} 1e-8, {@code weight_decay} 0.01.
 */
public final class AdamW extends StatefulOptimizer {

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;

    public AdamW(OptimizerArgs args) {
        super("torch.optim.adamw.AdamW", args);
        double[] betas = args.numbers("betas", new double[] {0.9, 0.999});
        this.beta1 = betas[0];
        this.beta2 = betas[1];
        this.eps = args.number("eps", 1e-8);
        this.weightDecay = args.number("weight_decay", 0.01);
        if (args.bool("amsgrad", false)) {
            throw new IllegalArgumentException("optimizer_args amsgrad=True is not supported");
        }
        args.rejectUnused("AdamW");
    }

    @Override
    public void step(List<ParamGroup> groups, Map<String, NDArray> grads) {
        forEachParam(groups, grads, (group, name, p, g) -> {
            int t = nextStep(name);
            double lr = group.lr();
            NDArray m = slot(name, "exp_avg", p);
            NDArray v = slot(name, "exp_avg_sq", p);
            p.muli((float) (1 - lr * weightDecay));
            m.muli((float) beta1).addi(g.mul((float) (1 - beta1)));
            v.muli((float) beta2).addi(g.mul(g).muli((float) (1 - beta2)));
            double biasCorrection1 = 1 - Math.pow(beta1, t);
            double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
            NDArray denom = v.sqrt().divi((float) biasCorrection2Sqrt).addi((float) eps);
            p.subi(m.div(denom).muli((float) (lr / biasCorrection1)));
        });
    }
}
