// Marginal statistics of the Criteo Kaggle display-advertising data.
//
// Missing rates, integer quantiles, head shares and the co-missing groups were
// MEASURED on the shipped sample tests/fixtures/criteo_kaggle_head8k.tsv
// (8,087 real rows; its click rate is 21.6%). Observations from that sample:
//  * every categorical value is 8 lowercase hex digits; empty field = missing;
//  * only I2 has negative values (down to -2 in the sample; -3 in the full data);
//  * some fields are missing in exactly the same rows: {I1,I10}, {I4,I13},
//    {I7,I9,I11}, {C3,C4,C12,C16,C21,C24}, {C19,C20,C25,C26}; I5 has the same
//    rate as {I7,I9,I11} but is missing independently of them.
//
// Cardinalities are NOT measurable from 8k rows: they are the commonly reported
// per-field distinct counts of the full Kaggle train.txt (45.8M rows; the
// numbers used e.g. by the DLRM Kaggle preprocessing).
//
// (zipf_s, zipf_q) were fitted (throwaway script, not shipped) so that, for
// "the head value with head_share, else Zipf-Mandelbrot over ranks
// 2..cardinality", the expected number of distinct values in as many draws as
// the sample has present values equals the measured distinct count, and the
// rank-2 share matches the measured share of the second most frequent value
// (q searched on a grid, s solved for). E.g. C3: 4,564 distinct in 7,820
// values -> s = 1.03, q = 0; C7 (flat head: top 1.05%, 2nd 0.84%) -> q = 30.
// Fields with a handful of values fit poorly (s hits the bound 10); they are
// close enough for a benchmark.
#include "sparsetrain/synth/criteo_profile.h"

namespace sparsetrain::synth {

namespace {

// Missing groups (see the comment above).
constexpr int kGI1I10 = 0, kGI4I13 = 1, kGI7I9I11 = 2, kGC3etc = 3, kGC19etc = 4;
static_assert(kGC19etc + 1 == kNumMissingGroups);

//  missing, group, quantiles at 0 5 10 20 30 40 50 60 70 80 90 95 99 99.9 100 %
const std::array<IntFieldProfile, kNumIntFields> kIntProfiles = {{
    {0.4512, kGI1I10, {0, 0, 0, 0, 0, 0, 1, 1, 2, 4, 8, 15, 44, 88, 214}},                // I1
    {0.0000, kNoGroup, {-2, -1, 0, 0, 1, 1, 3, 9, 25, 59, 186, 556, 2155, 3582, 18522}},  // I2
    {0.2025, kNoGroup, {0, 1, 1, 2, 3, 5, 7, 10, 16, 27, 51, 94, 306, 3446, 65535}},      // I3
    {0.2034, kGI4I13, {0, 0, 1, 1, 2, 3, 4, 6, 9, 13, 20, 28, 44, 79, 280}},              // I4
    {0.0495,
     kNoGroup,
     {0, 4, 14, 126, 584, 1526, 2757, 4515, 7800, 15308, 32470, 51333, 302819, 808266, 1618112}},  // I5
    {0.2520, kNoGroup, {0, 0, 2, 7, 14, 25, 41, 65, 101, 175, 342, 590, 1756, 4452, 12167}},       // I6
    {0.0495, kGI7I9I11, {0, 0, 0, 0, 1, 2, 3, 5, 8, 14, 30, 57, 194, 613, 1658}},                  // I7
    {0.0011, kNoGroup, {0, 0, 0, 1, 3, 5, 7, 11, 17, 24, 34, 42, 48, 70, 547}},                    // I8
    {0.0495, kGI7I9I11, {0, 1, 2, 7, 15, 26, 42, 64, 99, 162, 311, 502, 1209, 3154, 5639}},        // I9
    {0.4512, kGI1I10, {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 4, 4}},                              // I10
    {0.0495, kGI7I9I11, {0, 0, 0, 0, 1, 1, 1, 1, 2, 3, 5, 8, 22, 52, 79}},                         // I11
    {0.7769, kNoGroup, {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 12, 39, 98}},                          // I12
    {0.2034, kGI4I13, {0, 0, 1, 1, 2, 4, 5, 7, 11, 16, 27, 38, 73, 305, 770}},                     // I13
}};

//  missing, group, Kaggle cardinality, head share, zipf s, zipf q | sample: distinct
const std::array<CatFieldProfile, kNumCatFields> kCatProfiles = {{
    {0.0000, kNoGroup, 1460, 0.4986, 1.99, 0.5},    // C1   157
    {0.0000, kNoGroup, 583, 0.1214, 2.05, 12},      // C2   370
    {0.0330, kGC3etc, 10131227, 0.0500, 1.03, 0},   // C3   4564
    {0.0330, kGC3etc, 2202608, 0.0783, 1.09, 0},    // C4   3400
    {0.0000, kNoGroup, 305, 0.6661, 2.76, 1},       // C5   53
    {0.1313, kNoGroup, 24, 0.5258, 10.00, 8},       // C6   7
    {0.0000, kNoGroup, 12517, 0.0105, 1.18, 30},    // C7   2832
    {0.0000, kNoGroup, 633, 0.5952, 2.34, 0.5},     // C8   82
    {0.0000, kNoGroup, 3, 0.8870, 0.30, 0},         // C9   3
    {0.0000, kNoGroup, 93145, 0.2759, 1.16, 12},    // C10  2606
    {0.0000, kNoGroup, 5683, 0.0202, 1.29, 20},     // C11  1911
    {0.0330, kGC3etc, 8351593, 0.0500, 1.04, 0.5},  // C12  4376
    {0.0000, kNoGroup, 3194, 0.0220, 1.30, 20},     // C13  1596
    {0.0000, kNoGroup, 27, 0.3617, 4.93, 3},        // C14  23
    {0.0000, kNoGroup, 14992, 0.0200, 1.48, 30},    // C15  1843
    {0.0330, kGC3etc, 5461306, 0.0500, 1.08, 1},    // C16  3941
    {0.0000, kNoGroup, 10, 0.4288, 10.00, 50},      // C17  9
    {0.0000, kNoGroup, 5652, 0.0509, 1.68, 20},     // C18  1058
    {0.4528, kGC19etc, 2173, 0.5964, 1.21, 1},      // C19  484
    {0.4528, kGC19etc, 4, 0.3553, 10.00, 20},       // C20  3
    {0.0330, kGC3etc, 7046547, 0.0500, 1.06, 0.5},  // C21  4178
    {0.8172, kNoGroup, 18, 0.5257, 9.44, 3},        // C22  7
    {0.0000, kNoGroup, 15, 0.4466, 10.00, 20},      // C23  12
    {0.0330, kGC3etc, 286181, 0.0807, 1.20, 0.5},   // C24  2174
    {0.4528, kGC19etc, 105, 0.3306, 5.94, 12},      // C25  37
    {0.4528, kGC19etc, 142572, 0.0852, 1.20, 5},    // C26  1656
}};

}  // namespace

const std::array<IntFieldProfile, kNumIntFields>& int_field_profiles() { return kIntProfiles; }
const std::array<CatFieldProfile, kNumCatFields>& cat_field_profiles() { return kCatProfiles; }

}  // namespace sparsetrain::synth
