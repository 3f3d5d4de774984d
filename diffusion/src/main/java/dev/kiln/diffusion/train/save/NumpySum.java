package dev.kiln.diffusion.train.save;

/**
 * numpy's float64 {@code add.reduce} (so {@code np.sum}, {@code np.mean}) over a contiguous array: pairwise
 * summation in blocks of up to 128 elements with 8 accumulators. Sums of more than a few numbers differ in their
 * last bits from a left-to-right loop; metadata written as text shows those bits.
 */
final class NumpySum {
    private static final int BLOCK = 128;

    private NumpySum() {}

    static double pairwise(double[] a) {
        return pairwise(a, 0, a.length);
    }

    private static double pairwise(double[] a, int from, int n) {
        if (n < 8) {
            double res = 0.0;
            for (int i = 0; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        if (n <= BLOCK) {
            double[] r = new double[8];
            for (int j = 0; j < 8; j++) {
                r[j] = a[from + j];
            }
            int i = 8;
            for (; i < n - (n % 8); i += 8) {
                for (int j = 0; j < 8; j++) {
                    r[j] += a[from + i + j];
                }
            }
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise(a, from, n2) + pairwise(a, from + n2, n - n2);
    }
}
