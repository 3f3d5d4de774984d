package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;

import java.util.List;
import java.util.Map;

/**
 * {@code prodigyopt.Prodigy} (Mishchenko &amp; Defazio 2023): Adam whose step size {@code d·lr} is estimated from
 * {@code d̂ = d_coef · Σ(β3-averaged ⟨g, p0 - p⟩) / ‖s‖₁} and only grows. All groups share one estimate; group
 * learning rates must be equal or 0. Options: {@code betas} (0.9, 0.999), {@code beta3} √β2, {@code eps} 1e-8,
 * {@code weight_decay} 0, {@code decouple} True, {@code use_bias_correction} False, {@code safeguard_warmup} False,
 * {@code d0} 1e-6, {@code d_coef} 1, {@code growth_rate} inf.
 */
public final class Prodigy extends StatefulOptimizer {

    private final double beta1;
    private final double beta2;
    private final double beta3;
    private final double eps;
    private final double weightDecay;
    private final boolean decouple;
    private final boolean biasCorrection;
    private final boolean safeguardWarmup;
    private final double d0;
    private final double dCoef;
    private final double growthRate;

    private double d;
    private double dMax;
    private double dNumerator;
    private int k;

    public Prodigy(OptimizerArgs args) {
        super("prodigyopt.prodigy.Prodigy", args);
        double[] betas = args.numbers("betas", new double[] {0.9, 0.999});
        this.beta1 = betas[0];
        this.beta2 = betas[1];
        Double b3 = args.optionalNumber("beta3");
        this.beta3 = b3 != null ? b3 : Math.sqrt(beta2);
        this.eps = args.number("eps", 1e-8);
        this.weightDecay = args.number("weight_decay", 0.0);
        this.decouple = args.bool("decouple", true);
        this.biasCorrection = args.bool("use_bias_correction", false);
        this.safeguardWarmup = args.bool("safeguard_warmup", false);
        this.d0 = args.number("d0", 1e-6);
        this.dCoef = args.number("d_coef", 1.0);
        this.growthRate = args.number("growth_rate", Double.POSITIVE_INFINITY);
        if (args.bool("fsdp_in_use", false) || args.number("slice_p", 1) != 1) {
            throw new IllegalArgumentException("optimizer_args fsdp_in_use and slice_p are not supported");
        }
        args.rejectUnused("Prodigy");
        this.d = d0;
        this.dMax = d0;
    }

    /** The current step-size estimate d. */
    public double d() {
        return d;
    }

    @Override
    public void step(List<ParamGroup> groups, Map<String, NDArray> grads) {
        double lr = groups.stream().mapToDouble(ParamGroup::lr).max().orElse(0);
        for (ParamGroup g : groups) {
            if (g.lr() != lr && g.lr() != 0) {
                throw new IllegalArgumentException("Prodigy needs one learning rate for every parameter group"
                        + " (or 0): group " + g.name() + " has " + g.lr() + ", another " + lr);
            }
        }
        double bias = biasCorrection ? Math.sqrt(1 - Math.pow(beta2, k + 1)) / (1 - Math.pow(beta1, k + 1)) : 1;
        double dlr = d * lr * bias;
        double numerator = dNumerator * beta3;
        double[] denom = {0};
        double[] num = {numerator};
        forEachParam(groups, grads, (group, name, p, grad) -> {
            NDArray g = decouple || weightDecay == 0 ? grad : grad.add(p.mul((float) weightDecay));
            if (!hasSlot(name, "p0")) {
                NDArray start = p.flatten().duplicate();
                putSlot(name, "p0", start);
            }
            NDArray s = slot(name, "s", new ai.djl.ndarray.types.Shape(p.size()));
            NDArray m = slot(name, "exp_avg", p);
            NDArray v = slot(name, "exp_avg_sq", p);
            if (group.lr() > 0) {
                NDArray flat = g.flatten();
                NDArray p0 = slot(name, "p0", s.getShape());
                num[0] += (d / d0) * dlr * flat.mul(p0.sub(p.flatten())).sum().getFloat();
                m.muli((float) beta1).addi(g.mul((float) (d * (1 - beta1))));
                v.muli((float) beta2).addi(g.mul(g).muli((float) (d * d * (1 - beta2))));
                s.muli((float) beta3).addi(flat.mul((float) ((d / d0) * (safeguardWarmup ? d : dlr))));
                denom[0] += s.abs().sum().getFloat();
            }
        });
        if (denom[0] == 0) {
            return;
        }
        double newD = d;
        if (lr > 0) {
            double dHat = dCoef * num[0] / denom[0];
            if (d == d0) {
                newD = Math.max(d, dHat);
            }
            dMax = Math.max(dMax, dHat);
            newD = Math.min(dMax, newD * growthRate);
        }
        dNumerator = num[0];
        d = newD;
        forEachParam(groups, grads, (group, name, p, grad) -> {
            NDArray m = slot(name, "exp_avg", p);
            NDArray v = slot(name, "exp_avg_sq", p);
            NDArray den = v.sqrt().addi((float) (d * eps));
            if (weightDecay != 0 && decouple) {
                p.subi(p.mul((float) (weightDecay * dlr)));
            }
            p.subi(m.div(den).muli((float) dlr));
        });
        k++;
    }

    @Override
    Map<String, Double> scalars() {
        return Map.of("d", d, "d_max", dMax, "d_numerator", dNumerator, "k", (double) k);
    }

    @Override
    void restoreScalars(Map<String, Double> scalars) {
        d = scalars.getOrDefault("d", d0);
        dMax = scalars.getOrDefault("d_max", d0);
        dNumerator = scalars.getOrDefault("d_numerator", 0.0);
        k = scalars.getOrDefault("k", 0.0).intValue();
    }
}
