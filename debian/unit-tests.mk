# Read after the build's own Makefile (make -f Makefile -f debian/unit-tests.mk):
# prints the unit tier of its TESTS, so that debian/rules runs exactly the
# unit tests the project registers and no others.
print-unit-tests:
	@echo $(filter tests/unit/%,$(TESTS))
