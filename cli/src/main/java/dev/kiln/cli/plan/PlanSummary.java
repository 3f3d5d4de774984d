package dev.kiln.cli.plan;

import dev.kiln.model.dataset.DatasetParams;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.SubsetParams;
import java.io.PrintWriter;

/** The readable form of a plan: datasets, subsets, bucket histogram, steps and warnings. */
final class PlanSummary {
    private static final int BAR_WIDTH = 40;

    private PlanSummary() {}

    static void print(DatasetPlan plan, PrintWriter out) {
        for (int d = 0; d < plan.datasets().size(); d++) {
            DatasetPlan.Dataset ds = plan.datasets().get(d);
            DatasetParams p = ds.params();
            out.printf("dataset %d (%s): resolution %dx%d, batch size %d, %s%n", d, p.kind().jsonName(), p.width(),
                    p.height(), p.batchSize(), p.enableBucket()
                            ? "buckets " + p.minBucketReso() + "-" + p.maxBucketReso() + " step " + p.bucketResoSteps()
                                    + (p.bucketNoUpscale() ? " (no upscale)" : "")
                            : "no bucketing");
            for (int s = 0; s < ds.subsets().size(); s++) {
                SubsetParams sub = ds.subsets().get(s);
                String source = sub.metadataFile() != null ? sub.metadataFile() : sub.imageDir();
                out.printf("  subset %d%s: %s: %d images x %d repeats%s%s%n", s, sub.isReg() ? " (reg)" : "", source,
                        ds.subsetImageCounts().get(s), sub.numRepeats(),
                        sub.classTokens() != null ? ", class tokens \"" + sub.classTokens() + "\"" : "",
                        sub.shuffleCaption() ? ", shuffle_caption, keep_tokens " + sub.keepTokens() : "");
            }
            long max = ds.buckets().stream().mapToLong(DatasetPlan.Bucket::count).max().orElse(1);
            out.println("  buckets (images x repeats):");
            for (DatasetPlan.Bucket b : ds.buckets()) {
                int bar = (int) Math.max(1, b.count() * BAR_WIDTH / max);
                out.printf("    %9s %7d %s%n", b.reso(), b.count(), "#".repeat(bar));
            }
            out.printf("  %d training samples, %d regularization images (before balancing), %d batches per epoch%n",
                    ds.numTrainImages(), ds.numRegImages(), ds.batches());
            for (DatasetPlan.Excluded e : ds.excluded()) {
                out.printf("  excluded %s: %s%n", e.path(), e.reason());
            }
        }
        out.printf("steps: %d per epoch, %d in total (%d epochs)%n", plan.stepsPerEpoch(), plan.totalSteps(),
                plan.epochs());
        for (String w : plan.warnings()) {
            out.println("warning: " + w);
        }
    }
}
