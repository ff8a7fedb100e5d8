# The agreement metric's statistics (plugins/metrics/agreement/
# agree_stats.c: Cohen's kappa, Spearman's rho), host-free, compiled
# straight into the test and checked against values computed by hand.
ftsb_unit_test(test_agreement_stats
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_agreement_stats.c
          ${PROJECT_SOURCE_DIR}/plugins/metrics/agreement/agree_stats.c
  LIBS m)
target_include_directories(test_agreement_stats PRIVATE
  ${PROJECT_SOURCE_DIR}/plugins/metrics/agreement)
