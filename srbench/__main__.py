from srbench.cli import main

main()
