package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import java.util.List;
import java.util.Map;

/**
 * {@code transformers.optimization.Adafactor} (Shazeer &amp; Stern 2018) as sd-scripts configures it:
 * {@code relative_step} defaults to True, in which case the group learning rate is ignored and the step size is
 * {@code min(1e-2, 1/√t)} (or {@code 1e-6·t} with {@code warmup_init}), times {@code max(eps2, RMS(p))} with
 * {@code scale_parameter}. Second moments are factored into row and column means for tensors of rank ≥ 2; the update
 * is clipped to RMS {@code clip_threshold}, optionally averaged with {@code beta1}, and weight decay is
 * {@code p -= wd·lr·p}. Options: {@code eps} (1e-30, 1e-3), {@code clip_threshold} 1, {@code decay_rate} -0.8,
 * {@code beta1} None, {@code weight_decay} 0, {@code scale_parameter} True, {@code relative_step} True,
 * {@code warmup_init} False.
 */
public final class Adafactor extends StatefulOptimizer {

    private final double eps1;
    private final double eps2;
    private final double clipThreshold;
    private final double decayRate;
    private final Double beta1;
    private final double weightDecay;
    private final boolean scaleParameter;
    private final boolean relativeStep;
    private final boolean warmupInit;

    public Adafactor(OptimizerArgs args) {
        super("transformers.optimization.Adafactor", args);
        double[] eps = args.numbers("eps", new double[] {1e-30, 1e-3});
        this.eps1 = eps[0];
        this.eps2 = eps[1];
        this.clipThreshold = args.number("clip_threshold", 1.0);
        this.decayRate = args.number("decay_rate", -0.8);
        this.beta1 = args.optionalNumber("beta1");
        this.weightDecay = args.number("weight_decay", 0.0);
        this.scaleParameter = args.bool("scale_parameter", true);
        this.warmupInit = args.bool("warmup_init", false);
        // sd-scripts turns relative_step on when warmup_init asks for it
        this.relativeStep = args.bool("relative_step", true) || warmupInit;
        args.rejectUnused("AdaFactor");
    }

    /** True when the group learning rates are ignored (sd-scripts then uses the {@code adafactor} scheduler). */
    public boolean relativeStep() {
        return relativeStep;
    }

    @Override
    public void step(List<ParamGroup> groups, Map<String, NDArray> grads) {
        forEachParam(groups, grads, (group, name, p, g) -> {
            int t = nextStep(name);
            Shape shape = g.getShape();
            boolean factored = shape.dimension() >= 2;
            double rmsP = rms(p);
            double lr = relativeStep ? Math.min(warmupInit ? 1e-6 * t : 1e-2, 1.0 / Math.sqrt(t)) : group.lr();
            if (scaleParameter) {
                lr *= Math.max(eps2, rmsP);
            }
            double beta2t = 1.0 - Math.pow(t, decayRate);
            NDArray squared = g.square().addi((float) eps1);
            NDArray update;
            if (factored) {
                int last = shape.dimension() - 1;
                NDArray row = slot(name, "exp_avg_sq_row", shape.slice(0, last));
                NDArray col = slot(name, "exp_avg_sq_col", colShape(shape));
                row.muli((float) beta2t).addi(squared.mean(new int[] {last}).muli((float) (1 - beta2t)));
                col.muli((float) beta2t).addi(squared.mean(new int[] {last - 1}).muli((float) (1 - beta2t)));
                NDArray rowFactor = row.div(row.mean(new int[] {last - 1}, true)).pow(-0.5f).expandDims(last);
                NDArray colFactor = col.expandDims(last - 1).pow(-0.5f);
                update = rowFactor.mul(colFactor).muli(g);
            } else {
                NDArray v = slot(name, "exp_avg_sq", shape);
                v.muli((float) beta2t).addi(squared.muli((float) (1 - beta2t)));
                update = v.pow(-0.5f).muli(g);
            }
            update.divi((float) Math.max(1.0, rms(update) / clipThreshold)).muli((float) lr);
            if (beta1 != null) {
                NDArray m = slot(name, "exp_avg", shape);
                m.muli(beta1.floatValue()).addi(update.mul((float) (1 - beta1)));
                update = m;
            }
            if (weightDecay != 0) {
                p.subi(p.mul((float) (weightDecay * lr)));
            }
            p.subi(update);
        });
    }

    private static Shape colShape(Shape s) {
        long[] dims = s.getShape();
        long[] out = new long[dims.length - 1];
        System.arraycopy(dims, 0, out, 0, dims.length - 2);
        out[dims.length - 2] = dims[dims.length - 1];
        return new Shape(out);
    }

    private static double rms(NDArray x) {
        return Math.sqrt(x.square().sum().getFloat() / x.size());
    }
}
